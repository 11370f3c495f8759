"""``openconnector serve``: uvicorn, stopping runs in progress when the process is asked to end.

On SIGTERM or Ctrl-C uvicorn stops accepting connections and waits for the requests in
progress; a ``POST .../run`` would hold it for the whole run, and the scheduler would
hear of the shutdown only afterwards. Here the signal first asks every run in the
process to stop after its current page (:mod:`openconnector.shutdown`): the run is
logged ``interrupted``, its request answers a JSON 503, and the process exits within
seconds. A request still going after ``GRACE`` seconds is cancelled and answered
with a JSON 503 by :class:`CancelledAsJson`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import shutdown

#: Seconds uvicorn waits for requests in progress before cancelling them.
GRACE = 6


class StoppingServer(uvicorn.Server):
    def handle_exit(self, sig: int, frame: Any) -> None:
        shutdown.request(f"signal {sig}")
        super().handle_exit(sig, frame)


class CancelledAsJson:
    """A request cancelled by the shutdown answers a JSON 503, not uvicorn's plain-text 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except asyncio.CancelledError:
            if not started:
                body = orjson.dumps(
                    {
                        "error": "Service Unavailable",
                        "message": "The server is shutting down; the request was stopped. Try again shortly.",
                    }
                )
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", b"10"),
                    (b"connection", b"close"),
                ]
                await send({"type": "http.response.start", "status": 503, "headers": headers})
                await send({"type": "http.response.body", "body": body})
            raise


def serve(application: ASGIApp, host: str, port: int) -> None:
    """Serve until SIGTERM/Ctrl-C; runs in progress stop after their page."""
    config = uvicorn.Config(
        CancelledAsJson(application), host=host, port=port, log_level="info", timeout_graceful_shutdown=GRACE
    )
    StoppingServer(config).run()
