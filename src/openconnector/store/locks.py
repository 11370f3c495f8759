"""Named locks in the database, so two runs of one synchronisation never overlap,
whichever process or machine starts them.

A lock is a row with a holder and an expiry. Taking it is one INSERT; a lock
whose holder died can be taken over: at once when the holder was a process on this
host that no longer exists (``kill -9``, then a restart), otherwise when its expiry
passed without a heartbeat (``OPENCONNECTOR_LOCK_TTL``, default 30 s; a thread beats
every quarter of that). The holder also calls :meth:`Heartbeat.beat` while it works.
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

DEFAULT_TTL = 30.0

#: Holder names made by this process: a holder with our pid but not in here is a
#: previous process that had the same pid (a container restarted as pid 1).
_OURS: set[str] = set()


def new_holder() -> str:
    """An identity for a lock holder: host, process and a random part."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    _OURS.add(holder)
    return holder


def holder_is_dead(holder: str) -> bool:
    """True when ``holder`` was a process on this host that is gone; False when alive or unknown."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only its expiry tells
    pid = int(pid_text)
    if pid == os.getpid():
        return holder not in _OURS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but belongs to another user
        return False
    return False


def lock_ttl() -> float:
    """Seconds a run's lock outlives a dead holder on another host (``OPENCONNECTOR_LOCK_TTL``, default 30)."""
    try:
        return float(os.environ.get("OPENCONNECTOR_LOCK_TTL", str(DEFAULT_TTL)))
    except ValueError:
        return DEFAULT_TTL


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
                current = conn.execute(select(t.locks.c.holder).where(t.locks.c.name == name)).scalar()
                if current is not None:
                    if not holder_is_dead(current):
                        return False
                    return bool(  # the holder's process is gone: take over now, not at expiry
                        conn.execute(
                            update(t.locks)
                            .where(t.locks.c.name == name, t.locks.c.holder == current)
                            .values(holder=holder, acquired=iso(now), expires=expires)
                        ).rowcount
                    )
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
