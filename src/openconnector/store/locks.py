"""Named locks in the database, so two runs of one synchronisation never overlap,
whichever process or machine starts them.

A lock is a row with a holder and an expiry. Taking it is one INSERT; a lock
whose holder died (its expiry passed without a heartbeat) can be taken over. The
holder calls :meth:`LockService.refresh` while it works (each page of a run).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..clock import iso, utcnow
from ..errors import Conflict
from . import tables as t
from .db import Database

DEFAULT_TTL = 120.0


def new_holder() -> str:
    """An identity for a lock holder: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lock_ttl() -> float:
    """Seconds a run's lock outlives a dead holder (``OPENCONNECTOR_LOCK_TTL``, default 120)."""
    try:
        return float(os.environ.get("OPENCONNECTOR_LOCK_TTL", "120"))
    except ValueError:
        return 120.0


class LockService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def acquire(self, name: str, holder: str, ttl: float = DEFAULT_TTL) -> bool:
        now = utcnow()
        expires = iso(now + timedelta(seconds=ttl))
        try:
            with self.db.begin() as conn:
                taken = conn.execute(
                    update(t.locks)
                    .where(t.locks.c.name == name, t.locks.c.expires < iso(now))
                    .values(holder=holder, acquired=iso(now), expires=expires)
                ).rowcount
                if taken:
                    return True
                if conn.execute(select(t.locks.c.name).where(t.locks.c.name == name)).first():
                    return False
                conn.execute(
                    insert(t.locks).values(name=name, holder=holder, acquired=iso(now), expires=expires)
                )
                return True
        except IntegrityError:
            return False

    def refresh(self, name: str, holder: str, ttl: float = DEFAULT_TTL) -> bool:
        expires = iso(utcnow() + timedelta(seconds=ttl))
        with self.db.begin() as conn:
            return bool(
                conn.execute(
                    update(t.locks)
                    .where(t.locks.c.name == name, t.locks.c.holder == holder)
                    .values(expires=expires)
                ).rowcount
            )

    def release(self, name: str, holder: str) -> None:
        with self.db.begin() as conn:
            conn.execute(delete(t.locks).where(t.locks.c.name == name, t.locks.c.holder == holder))

    @contextmanager
    def held(
        self, name: str, *, ttl: float = DEFAULT_TTL, wait: float = 0.0, message: str | None = None
    ) -> Iterator[Heartbeat]:
        """Hold ``name`` for the block; waits up to ``wait`` seconds, else raises Conflict (409)."""
        import time

        holder = new_holder()
        deadline = time.monotonic() + wait
        while not self.acquire(name, holder, ttl):
            if time.monotonic() >= deadline:
                raise Conflict(
                    message or f"{name} is locked by another run; try again when it has finished", lock=name
                )
            time.sleep(0.2)
        beat = Heartbeat(self, name, holder, ttl)
        try:
            yield beat
        finally:
            beat.stop()
            self.release(name, holder)


class Heartbeat:
    """Keeps a held lock alive: call :meth:`beat` often, or let the thread do it."""

    def __init__(self, locks: LockService, name: str, holder: str, ttl: float) -> None:
        self.locks, self.name, self.holder, self.ttl = locks, name, holder, ttl
        self._stop = threading.Event()
        self._last = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"lock:{name}")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                self.locks.refresh(self.name, self.holder, self.ttl)
            except Exception:  # a failed heartbeat must not kill the run; the next one retries
                continue

    def beat(self) -> None:
        """Refresh the lock, at most every tenth of its ttl: a run beats after every page,
        and a write per page would queue behind the run's own writes."""
        now = time.monotonic()
        if now - self._last < self.ttl / 10:
            return
        self._last = now
        self.locks.refresh(self.name, self.holder, self.ttl)

    def stop(self) -> None:
        self._stop.set()
