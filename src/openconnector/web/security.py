"""Login and CSRF checks for the UI's routes.

Every page but ``/login`` depends on :func:`current_user`; a visitor without a
session is sent to the login form (htmx requests get ``HX-Redirect`` so the
whole page moves, not just a fragment). Every POST depends on
:func:`verify_csrf`: the session holds a random token, each form carries it in
a hidden ``csrf_token`` field (htmx also sends it as ``X-CSRF-Token``), and a
POST whose token is missing or different is refused with 403. The cookie's
SameSite=Lax already stops most cross-site posts; the token also covers old
browsers and same-site attackers.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote

from fastapi import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """Raised by :func:`current_user` when the request has no logged-in session."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(Exception):
    """Raised by :func:`verify_csrf` for a POST without the session's token."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    session = request.session
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def current_user(request: Request) -> str:
    """The logged-in user name; :class:`LoginRequired` otherwise."""
    user = request.session.get("user")
    if not user:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        raise LoginRequired(target)
    return str(user)


async def verify_csrf(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token does not match the session's."""
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise CsrfRejected()


def safe_next(path: str | None) -> str:
    """A local path to go to after login; anything else (``//evil``, ``https://...``) becomes ``/``."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def login_redirect(request: Request, exc: LoginRequired) -> Response:
    target = "/login"
    if exc.next_path and exc.next_path != "/":
        target += "?next=" + quote(exc.next_path, safe="/")
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def csrf_refused(request: Request, exc: CsrfRejected) -> Response:
    body = (
        "<!doctype html><html lang=en><title>Forbidden</title><h1>Forbidden</h1>"
        "<p>The form was missing its security token or it has expired. "
        'Go back, reload the page and try again.</p><p><a href="/">Dashboard</a></p></html>'
    )
    return HTMLResponse(body, status_code=403)
