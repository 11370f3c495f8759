"""Response headers that make the browser refuse what the service never does.

Every response gets:

* ``Content-Security-Policy``: scripts, styles, images, requests and form targets
  only from this origin, no inline script or style (the UI has none: htmx and the
  stylesheet are static files), no plugins, no ``<base>``, and no framing
  (``frame-ancestors 'none'``);
* ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``;
* ``Referrer-Policy: same-origin``: a page's URL (a search, an object id) is not
  sent to other sites;
* ``X-Content-Type-Options: nosniff``: a JSON answer holding source data is never
  run as a script or rendered as HTML.

A response that sets its own policy keeps it (the API documentation pages, whose
viewers need inline styles: ``api/docs.py``).

Cookies set on a request that arrived over HTTPS (the scheme itself, or
``X-Forwarded-Proto: https`` from a proxy that terminates TLS) are marked
``Secure``, so the browser never sends the session over plain HTTP. Trusting the
header only ever adds the flag; it cannot remove it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

_ALWAYS = (
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
)


def is_https(scope: Scope) -> bool:
    """Whether the browser reached us over HTTPS (directly or through a TLS-terminating proxy)."""
    if scope.get("scheme") == "https":
        return True
    for name, value in scope.get("headers") or ():
        if name == b"x-forwarded-proto":
            return value.split(b",")[0].strip().lower() == b"https"
    return False


class SecurityHeaders:
    """ASGI middleware adding the headers above (outermost, so it sees every response)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = is_https(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                extra = [*_ALWAYS, (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())]
                headers.extend((name, value) for name, value in extra if name not in present)
                if secure:
                    headers = [_secure_cookie(name, value) for name, value in headers]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure_cookie(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() != b"set-cookie":
        return name, value
    attributes = [part.strip().lower() for part in value.split(b";")[1:]]
    if b"secure" in attributes:
        return name, value
    return name, value + b"; Secure"
