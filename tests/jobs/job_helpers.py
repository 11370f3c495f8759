"""Helpers for job tests (imported by ``conftest.py``, the tests and ``bench/``-like scripts).

``PagedSource`` serves ``/records?set=S&total=N&size=K&delay=D&page=P`` as
``{"items": [...], "page": P, "totalPages": T}``; every page waits ``delay``
seconds, so a run lasts about ``pages × delay`` and a test can stop or kill a
worker in the middle. Records are ``{"id": "S-i", "name": "Record S-i"}``.
``hits`` counts requests per set.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from openconnector.context import Context


class PagedSource:
    """A threaded HTTP server on 127.0.0.1 with paged, optionally slow, records."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                q = {k: v[-1] for k, v in parse_qs(url.query).items()}
                name = q.get("set", "s")
                total, size = int(q.get("total", "10")), int(q.get("size", "10"))
                page = int(q.get("page", "1"))
                source.hits[name] += 1
                time.sleep(float(q.get("delay", "0")))
                start = (page - 1) * size
                items = [
                    {"id": f"{name}-{i}", "name": f"Record {name}-{i}"}
                    for i in range(start + 1, min(total, start + size) + 1)
                ]
                body = json.dumps(
                    {"items": items, "page": page, "totalPages": max(1, -(-total // size))}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> PagedSource:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_target(context: Context, slug: str = "items") -> str:
    """A register ``jobs`` with a schema ``slug``; returns ``"jobs/<slug>"``."""
    from openconnector.errors import NotFound
    from openconnector.register.registers import RegisterService

    registers = RegisterService(context)
    try:
        registers.get_register("jobs")
    except NotFound:
        registers.create_register({"title": "Jobs", "slug": "jobs"})
    registers.create_schema(
        {
            "title": slug,
            "slug": slug,
            "register": "jobs",
            "properties": {"ref": {"type": "string"}, "name": {"type": "string"}},
        }
    )
    return f"jobs/{slug}"


def make_sync(
    context: Context,
    source_url: str,
    name: str,
    *,
    total: int = 10,
    size: int = 10,
    delay: float = 0.0,
    target: str = "jobs/items",
    concurrency: int = 1,
) -> dict[str, Any]:
    """A source + mapping + synchronisation that pulls set ``name`` of the paged source into ``target``.

    One page at a time by default: these tests stop, kill and time runs by the pages the
    source has served, which pages fetched at once (``connector/pages.py``) would blur.
    """
    from openconnector.connector.entities import EntityService

    source = EntityService("source", context).create(
        {"name": f"Source {name}", "type": "api", "location": source_url, "isEnabled": True}
    )
    mapping = EntityService("mapping", context).create(
        {"name": f"Mapping {name}", "mapping": {"ref": "{{ id }}", "name": "{{ name }}"}}
    )
    return EntityService("synchronization", context).create(
        {
            "name": f"Sync {name}",
            "sourceId": str(source["id"]),
            "sourceType": "api",
            "sourceTargetMapping": str(mapping["id"]),
            "targetType": "register/schema",
            "targetId": target,
            "sourceConfig": {
                "endpoint": f"/records?set={name}&total={total}&size={size}&delay={delay}",
                "resultsPosition": "items",
                "idPosition": "id",
                "concurrency": concurrency,
            },
        }
    )


def sync_available() -> bool:
    try:
        import openconnector.connector.sync  # noqa: F401
    except ImportError:
        return False
    return True


requires_sync = pytest.mark.skipif(not sync_available(), reason="the synchronisation engine is not there yet")


if __name__ == "__main__":  # a standalone source for manual runs: python tests/jobs/job_helpers.py
    server = PagedSource().start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sys.exit(0)
