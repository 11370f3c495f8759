"""Row identifiers: time-ordered uuids (RFC 9562 version 7).

Objects, contracts and logs are keyed by a uuid with a unique index. Random
(version 4) uuids land all over that index, so every page of 1,000 inserts
dirties most of its b-tree pages and a commit rewrites them all: on SQLite that
was half the time of a first synchronisation. A version 7 uuid starts with the
millisecond it was made, so new rows append at the end of the index. It is still
a standard uuid, unguessable in its 74 random bits.
"""

from __future__ import annotations

import os
import threading
import time

_entropy = threading.local()
#: The first hex digit of a uuid's variant field: binary 10xx (RFC 9562).
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def _random_bytes(count: int) -> bytes:
    """``count`` random bytes from a per-thread pool (one system call per 4 KiB)."""
    pool = getattr(_entropy, "pool", b"")
    if len(pool) < count:
        pool = os.urandom(4096)
    _entropy.pool = pool[count:]
    return pool[:count]


def new_uuid() -> str:
    """A version 7 uuid: 48 bits of unix milliseconds, then random bits."""
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + _random_bytes(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_uuids(count: int) -> list[str]:
    """``count`` version 7 uuids of this millisecond, in one go (a page of new rows)."""
    stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big").hex()
    noise = os.urandom(10 * count).hex()
    out = []
    for start in range(0, 20 * count, 20):
        r = noise[start : start + 20]
        out.append(f"{stamp[:8]}-{stamp[8:]}-7{r[1:4]}-{_VARIANT[r[4]]}{r[5:8]}-{r[8:20]}")
    return out
