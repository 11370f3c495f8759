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
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update

from ..clock import now_iso
from ..errors import BadRequest, Conflict, NotFound
from . import tables as t
from .db import Database

log = logging.getLogger("openconnector")
_hasher = PasswordHasher()
_CACHE_SECONDS = 60.0
#: What an unknown user's password is checked against (same parameters as real hashes).
_DUMMY_HASH = _hasher.hash("no-such-user-timing-equaliser")


def _verify_quietly(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class UserService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[bytes, tuple[str, float]] = {}  # key -> (password hash, until)
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
        self._forget(username)

    def remove(self, username: str) -> None:
        """Remove a user: their Basic-auth logins and UI sessions stop working at once."""
        with self.db.begin() as conn:
            done = conn.execute(delete(t.users).where(t.users.c.username == username)).rowcount
        if not done:
            raise NotFound(f"User {username!r} does not exist")
        self._forget(username)

    def _forget(self, username: str) -> None:
        """After a password change or removal: no cached login, no open session survives."""
        from .sessions import SessionStore

        with self._lock:
            self._cache.clear()
        SessionStore(self.db).end_all(username)

    def is_admin(self, username: str) -> bool:
        with self.db.connect() as conn:
            return bool(
                conn.execute(select(t.users.c.is_admin).where(t.users.c.username == username)).scalar()
            )

    def names(self) -> list[str]:
        with self.db.connect() as conn:
            return list(conn.execute(select(t.users.c.username).order_by(t.users.c.username)).scalars())

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

    def verify(
        self, username: str, password: str, *, before_hashing: Callable[[], None] | None = None
    ) -> bool:
        """Whether ``password`` is ``username``'s.

        ``before_hashing`` runs when the answer needs argon2 (not for credentials
        verified within the last minute): the login throttle goes there, so a
        client that already proved its password is not locked out by someone
        else guessing, while every guess pays the throttle.
        """
        key = hmac.new(self._pepper, f"{username}\0{password}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        with self.db.connect() as conn:
            row = conn.execute(select(t.users.c.password_hash).where(t.users.c.username == username)).first()
        cached = self._cache.get(key)
        # the cache skips argon2, never the lookup: a password changed or a user removed
        # by another process (the CLI) is noticed on the next request, not a minute later
        if (
            row is not None
            and cached
            and cached[1] > now
            and hmac.compare_digest(cached[0], row.password_hash)
        ):
            return True
        if before_hashing is not None:
            before_hashing()
        if row is None:
            # as slow as a wrong password, so timing does not tell which user names exist
            _verify_quietly(_DUMMY_HASH, password)
            return False
        if not _verify_quietly(row.password_hash, password):
            return False
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (row.password_hash, now + _CACHE_SECONDS)
        return True
