"""Server-side UI sessions: a login is a row, logging out deletes it.

The signed session cookie used to be the whole session: logging out cleared the
browser's copy, but a copy taken earlier stayed valid until its signature
expired (12 hours), and changing the password or removing the user did not end
it either. Now the cookie carries a random token and this table the token's
SHA-256, checked on every request (:class:`SessionCheck` in ``web/session.py``).
A session ends when its row goes: at logout, on a password change, when the
user is removed, when an admin revokes it, or when it expires.

Only the hash is stored, so reading the table (or a backup of it) gives no
usable cookie. ``last_seen`` is written at most once a minute per session, so
a busy browser does not turn every page view into a database write.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from ..clock import iso, utcnow
from ..errors import NotFound
from . import tables as t
from .db import Database
from .ids import row_id

#: How long a session lives without logging in again (a working day).
LIFETIME = timedelta(hours=12)
_TOUCH_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, username: str, *, address: str | None = None, user_agent: str | None = None) -> str:
        """A new session for ``username``; returns the token the cookie carries."""
        token = secrets.token_urlsafe(32)
        now = utcnow().replace(microsecond=0)
        with self.db.begin() as conn:
            conn.execute(delete(t.ui_sessions).where(t.ui_sessions.c.expires < iso(now)))
            conn.execute(
                insert(t.ui_sessions).values(
                    token_hash=_hash(token),
                    username=username,
                    created=iso(now),
                    last_seen=iso(now),
                    expires=iso(now + LIFETIME),
                    address=(address or "")[:64] or None,
                    user_agent=(user_agent or "")[:300] or None,
                )
            )
        return token

    def user_of(self, token: str | None) -> str | None:
        """The user whose live session ``token`` is, else None (unknown, revoked or expired)."""
        if not token or not isinstance(token, str):
            return None
        now = utcnow().replace(microsecond=0)
        with self.db.connect() as conn:
            row = conn.execute(
                select(t.ui_sessions.c.id, t.ui_sessions.c.username, t.ui_sessions.c.last_seen).where(
                    t.ui_sessions.c.token_hash == _hash(token), t.ui_sessions.c.expires > iso(now)
                )
            ).first()
        if row is None:
            return None
        if row.last_seen < iso(now - _TOUCH_EVERY):
            with self.db.begin() as conn:
                conn.execute(
                    update(t.ui_sessions).where(t.ui_sessions.c.id == row.id).values(last_seen=iso(now))
                )
        return str(row.username)

    def id_of(self, token: str | None) -> int | None:
        if not token:
            return None
        with self.db.connect() as conn:
            return conn.execute(
                select(t.ui_sessions.c.id).where(t.ui_sessions.c.token_hash == _hash(token))
            ).scalar()

    def end(self, token: str | None) -> None:
        """Logout: the session's row goes, so the cookie is refused from now on."""
        if token:
            with self.db.begin() as conn:
                conn.execute(delete(t.ui_sessions).where(t.ui_sessions.c.token_hash == _hash(token)))

    def end_all(self, username: str) -> int:
        """End every session of ``username`` (password changed, user removed, admin's choice)."""
        with self.db.begin() as conn:
            return conn.execute(delete(t.ui_sessions).where(t.ui_sessions.c.username == username)).rowcount

    def revoke(self, ref: Any) -> dict[str, Any]:
        """End one session by its id (as :meth:`list` shows it); 404 when there is none."""
        number = row_id(ref)
        found = self.get(number) if number is not None else None
        if found is None:
            raise NotFound(f"Session {str(ref)[:40]!r} not found", id=str(ref)[:40])
        with self.db.begin() as conn:
            conn.execute(delete(t.ui_sessions).where(t.ui_sessions.c.id == number))
        return found

    def get(self, number: int) -> dict[str, Any] | None:
        with self.db.connect() as conn:
            row = conn.execute(select(t.ui_sessions).where(t.ui_sessions.c.id == number)).first()
        return _wire(row) if row is not None else None

    def list(self, username: str | None = None) -> list[dict[str, Any]]:
        """Live sessions, newest first (never their tokens)."""
        query = select(t.ui_sessions).where(t.ui_sessions.c.expires > iso(utcnow().replace(microsecond=0)))
        if username:
            query = query.where(t.ui_sessions.c.username == username)
        with self.db.connect() as conn:
            return [_wire(r) for r in conn.execute(query.order_by(t.ui_sessions.c.id.desc()))]


def _wire(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "user": row.username,
        "created": row.created,
        "lastSeen": row.last_seen,
        "expires": row.expires,
        "address": row.address,
        "userAgent": row.user_agent,
    }
