"""Password guessing is slowed: failed logins per user name and per address.

Each key (``user:<name>``, ``addr:<ip>``) counts its failed logins. The first
few are free; every failure after that blocks the key for twice as long as the
previous block (:data:`FIRST_BLOCK` seconds, doubling, at most :data:`MAX_BLOCK`).
While a key is blocked every login attempt on it is answered 429 with
``Retry-After`` before the password is even looked at, so a guesser gets a few
tries an hour instead of thousands a minute. A right password once the block
is over works and clears the user's count.

An address gets more free tries than a user name (:data:`FREE_PER_ADDRESS`):
many honest users may share one office address. The counts live in memory: the
service is one process (``openconnector serve``), and a restart forgetting them
costs an attacker a restart they cannot cause. Counts of keys that have been
quiet for :data:`FORGET_AFTER` seconds are dropped, so memory stays bounded.

Behind a reverse proxy the address is the proxy's unless uvicorn is told to
trust ``X-Forwarded-For`` (``--forwarded-allow-ips``); see docs/security.md.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import TooManyRequests

FREE_PER_USER = 5
FREE_PER_ADDRESS = 20
FIRST_BLOCK = 2.0
MAX_BLOCK = 15 * 60.0
FORGET_AFTER = 60 * 60.0
_MAX_KEYS = 100_000


@dataclass
class _Count:
    failures: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock  # tests put a fake clock here
        self._counts: dict[str, _Count] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str | None, address: str | None) -> list[tuple[str, int]]:
        keys = []
        if username:
            keys.append((f"user:{username.lower()[:190]}", FREE_PER_USER))
        if address:
            keys.append((f"addr:{address}", FREE_PER_ADDRESS))
        return keys

    def check(self, username: str | None, address: str | None) -> None:
        """Raise :class:`TooManyRequests` while the user name or the address is blocked."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key, _ in self.keys(username, address):
                count = self._counts.get(key)
                if count is not None and count.blocked_until > now:
                    wait = max(wait, count.blocked_until - now)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"Too many failed logins; try again in {seconds} seconds", retry_after=seconds
            )

    def failed(self, username: str | None, address: str | None) -> None:
        """Count a wrong password; past the free tries, block for a growing time."""
        now = self.clock()
        with self._lock:
            if len(self._counts) > _MAX_KEYS:
                self._forget(now)
            for key, free in self.keys(username, address):
                count = self._counts.setdefault(key, _Count())
                if now - count.last > FORGET_AFTER and count.blocked_until <= now:
                    count.failures = 0
                count.failures += 1
                count.last = now
                over = count.failures - free
                if over > 0:
                    count.blocked_until = now + min(MAX_BLOCK, FIRST_BLOCK * 2 ** min(over - 1, 20))

    def succeeded(self, username: str | None, address: str | None) -> None:
        """A right password clears the user name's count (the address keeps its own)."""
        with self._lock:
            for key, _ in self.keys(username, None):
                self._counts.pop(key, None)

    def _forget(self, now: float) -> None:
        quiet = [k for k, c in self._counts.items() if now - c.last > FORGET_AFTER and c.blocked_until <= now]
        for key in quiet:
            del self._counts[key]
        if len(self._counts) > _MAX_KEYS:  # a flood of distinct keys: start over rather than grow
            self._counts.clear()
