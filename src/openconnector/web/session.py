"""The UI's session cookie: its signing key and the middleware that reads it.

The session holds only the user name and the CSRF token; Starlette signs it with
itsdangerous, so the key must survive restarts (or every restart logs everyone
out) and must never be the key that encrypts source secrets. Hence: derived from
``OPENCONNECTOR_SECRET_KEY`` under its own label when that is set, else a random
key kept in ``<data dir>/session.key`` with mode 0600, else (read-only data
directory) a random key for this process only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ..store.sessions import SessionStore
from ..store.settings import Settings

log = logging.getLogger("openconnector.web")

COOKIE = "openconnector_session"
MAX_AGE = 12 * 60 * 60  # a working day; then log in again


def session_key(settings: Settings) -> str:
    """The key that signs session cookies (see the module docstring for where it comes from)."""
    if settings.secret_key:
        return hmac.new(settings.secret_key.encode(), b"openconnector-ui-session", hashlib.sha256).hexdigest()
    path = Path(settings.data_dir) / "session.key"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
    except OSError as exc:
        log.warning("Cannot keep the session key in %s (%s): sessions end when the server stops", path, exc)
    return secrets.token_hex(32)


class SessionCheck:
    """Empty the request's session unless its token names a live server-side session.

    Runs inside Starlette's SessionMiddleware (which has checked the signature
    and put the cookie's content in ``scope["session"]``), before any route: the
    UI pages and the API's session login both see an empty session for a cookie
    whose session was ended (logout, password change, user removed, revoked),
    and the emptied session makes the middleware clear the browser's cookie.
    """

    def __init__(self, app: ASGIApp, store: SessionStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = scope.get("session") if scope["type"] == "http" else None
        if session and session.get("user"):
            user = await run_in_threadpool(self.store.user_of, session.get("sid"))
            if user is None or user != session.get("user"):
                session.clear()
        await self.app(scope, receive, send)


def install_sessions(app: FastAPI, settings: Settings) -> None:
    """Add the session middleware: cookie HttpOnly, SameSite=Lax, Secure behind https."""
    https = (settings.base_url or "").lower().startswith("https://")
    app.state.web_session_key = session_key(settings)
    # added first, so it runs inside SessionMiddleware (the last added is the outermost)
    app.add_middleware(SessionCheck, store=app.state.sessions)
    app.add_middleware(
        SessionMiddleware,
        secret_key=app.state.web_session_key,
        session_cookie=COOKIE,
        max_age=MAX_AGE,
        same_site="lax",
        https_only=https,
    )
