"""A receiving API on 127.0.0.1 for push tests: it keeps what it is sent.

``POST /items`` stores the body under a new id (``r1``, ``r2``...) and answers
``{"data": {"id": ...}}``; ``PUT``/``DELETE /items/{id}`` replace or remove it
(404 when unknown), ``GET /items/{id}`` answers it. ``down = True`` makes every request answer 503, as a
receiver being restarted does. ``requests`` lists ``(method, path, body)``.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openconnector import ObjectService


class Receiver:
    def __init__(self) -> None:
        self.items: dict[str, Any] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.down = False
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                if receiver.down:
                    self._answer(503, {"error": "down"})
                    return
                with receiver._lock:
                    receiver.requests.append((self.command, self.path, body))
                    parts = self.path.strip("/").split("/")
                    if parts[0] != "items":
                        self._answer(404, {"error": "no such path"})
                    elif len(parts) == 1 and self.command == "POST":
                        made = f"r{next(receiver._ids)}"
                        receiver.items[made] = body
                        self._answer(201, {"data": {"id": made}})
                    elif len(parts) == 2 and parts[1] in receiver.items:
                        if self.command == "GET":
                            self._answer(200, receiver.items[parts[1]])
                        elif self.command == "DELETE":
                            del receiver.items[parts[1]]
                            self._answer(204)
                        else:
                            receiver.items[parts[1]] = body
                            self._answer(200, {"data": {"id": parts[1]}})
                    else:
                        self._answer(404, {"error": "unknown item"})

            do_POST = do_PUT = do_DELETE = do_PATCH = do_GET = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method: str) -> list[tuple[str, str, Any]]:
        with self._lock:
            return [r for r in self.requests if r[0] == method]


def _save(objects, schema, data):
    return objects.save_object(object=data, register="openconnector", schema=schema)


def make_push(context, receiver, **extra):
    """The dcat register, a target source on ``receiver``, a mapping and a push synchronisation."""
    objects = ObjectService(context)
    target = _save(
        objects,
        "source",
        {
            "name": "Receiver",
            "type": "api",
            "location": receiver.url,
            "auth": "none",
            "isEnabled": True,
            "configuration": {"retries": 0},
        },
    )
    mapping = _save(objects, "mapping", {"name": "Dataset out", "mapping": {"name": "{{ title }}"}})
    sync = _save(
        objects,
        "synchronization",
        {
            "name": "Datasets out",
            "sourceType": "register/schema",
            "sourceId": "dcat/dataset",
            "targetType": "api",
            "targetId": target["id"],
            "sourceTargetMapping": mapping["id"],
            "targetConfig": {"endpoint": "/items", "idPosition": "data.id"},
            **extra,
        },
    )
    return objects, sync
