"""Users and their passwords (argon2), for HTTP Basic auth and the UI login.

Verifying an argon2 hash takes tens of milliseconds by design, too slow to do
on every API request, so a successful check is remembered for a minute under a
keyed hash of the credentials (never the password itself).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update

from ..clock import now_iso
from ..errors import BadRequest, Conflict, NotFound
from . import tables as t
from .db import Database

log = logging.getLogger("openconnector")
_hasher = PasswordHasher()
_CACHE_SECONDS = 60.0


class UserService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[bytes, tuple[str, float]] = {}
        self._pepper = os.urandom(32)
        self._lock = threading.Lock()

    def add(self, username: str, password: str, *, is_admin: bool = True) -> None:
        if not username or not password:
            raise BadRequest("A user needs a name and a password")
        with self.db.begin() as conn:
            if conn.execute(select(t.users.c.id).where(t.users.c.username == username)).first():
                raise Conflict(f"User {username!r} already exists")
            conn.execute(
                insert(t.users).values(
                    username=username,
                    password_hash=_hasher.hash(password),
                    is_admin=is_admin,
                    created=now_iso(),
                )
            )

    def set_password(self, username: str, password: str) -> None:
        if not password:
            raise BadRequest("The password cannot be empty")
        with self.db.begin() as conn:
            done = conn.execute(
                update(t.users)
                .where(t.users.c.username == username)
                .values(password_hash=_hasher.hash(password))
            ).rowcount
        if not done:
            raise NotFound(f"User {username!r} does not exist")
        with self._lock:
            self._cache.clear()

    def exists(self) -> bool:
        with self.db.connect() as conn:
            return conn.execute(select(t.users.c.id).limit(1)).first() is not None

    def ensure_admin(self, password: str | None) -> None:
        """Create ``admin`` on first start: with ``password`` or, loudly, with ``admin``."""
        if self.exists():
            return
        if not password:
            log.warning("=" * 72)
            log.warning("No users yet: created user 'admin' with password 'admin'.")
            log.warning("Change it now: openconnector user passwd admin")
            log.warning("=" * 72)
            password = "admin"
        self.add("admin", password)

    def verify(self, username: str, password: str) -> bool:
        key = hmac.new(self._pepper, f"{username}\0{password}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached and cached[1] > now:
            return True
        with self.db.connect() as conn:
            row = conn.execute(select(t.users.c.password_hash).where(t.users.c.username == username)).first()
        if row is None:
            _hasher.hash("timing-equaliser")
            return False
        try:
            _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (username, now + _CACHE_SECONDS)
        return True
