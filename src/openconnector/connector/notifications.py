"""Notifications in: a source announces one changed record, and only that record is synchronised.

A ZGW notification ``{kanaal, resource, resourceUrl, actie, aanmaakdatum, kenmerken}``
runs every pull synchronisation subscribed to its ``kanaal`` (``sourceConfig.kanaal``,
optionally narrowed by ``sourceConfig.kenmerken``: each given key must equal the
notification's) on that one record: fetched from ``resourceUrl`` through the
synchronisation's source (its authentication applies), then mapped and written
like a full run's page, with the same contracts; ``actie: destroy`` deletes the
object the record became. A generic webhook gives the records itself.

A notification is queued before it is answered (:meth:`NotificationService.enqueue`:
one outbox row per subscribed synchronisation, ``connector/outbox.py``) and processed
by the outbox deliverer (:meth:`NotificationService.process`), so one that arrives
just before the service stops or crashes is processed after the restart, and a
source that is briefly down is tried again with backoff.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
from sqlalchemy import delete, select

from ..context import Context, get_context
from ..errors import BadRequest, OpenConnectorError
from ..store import tables as t
from .consumer_auth import consumer_for_key  # noqa: F401 - its home before consumer_auth.py
from .entities import EntityService
from .push import is_push
from .redaction import redact_url, source_secrets

log = logging.getLogger("openconnector.notifications")

REQUIRED = ("kanaal", "resourceUrl", "actie")


def check_notification(body: Any) -> dict[str, Any]:
    """The notification, or a 400 saying what is missing."""
    if not isinstance(body, dict):
        raise BadRequest(
            "A notification is a JSON object {kanaal, resource, resourceUrl, actie, aanmaakdatum}"
        )
    missing = [k for k in REQUIRED if not isinstance(body.get(k), str) or not body.get(k)]
    if missing:
        raise BadRequest(f"The notification has no {', '.join(missing)}", fields=missing)
    if body.get("kenmerken") is not None and not isinstance(body["kenmerken"], dict):
        raise BadRequest("kenmerken must be an object", field="kenmerken")
    return body


class NotificationFailed(OpenConnectorError):
    """Fetching the announced record failed; ``retryable`` for 5xx, 429, 408 and transport errors."""

    status = 502

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class NotificationService:
    def __init__(self, context: Context | None = None) -> None:
        self.context = context or get_context()

    def subscribers(self, notification: dict[str, Any]) -> list[dict[str, Any]]:
        """The pull synchronisations subscribed to the notification's kanaal (and kenmerken)."""
        from .sync import _expand_dotted

        found = []
        given = notification.get("kenmerken") or {}
        for sync in EntityService("synchronization", self.context).list():
            if is_push(sync):
                continue
            config = _expand_dotted(dict(sync.get("sourceConfig") or {}))
            if str(config.get("kanaal") or "") != notification["kanaal"]:
                continue
            wanted = config.get("kenmerken") or {}
            if isinstance(wanted, dict) and any(str(given.get(k)) != str(v) for k, v in wanted.items()):
                continue
            found.append(sync)
        return found

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every pull synchronisation with a ``sourceConfig.kanaal``, by kanaal then name, with
        how many of its notifications wait in the outbox (``queued``) or were parked (``failed``)."""
        from sqlalchemy import func

        from . import outbox
        from .sync import _expand_dotted

        o = t.outbox.c
        with self.context.db.connect() as conn:
            counts = {
                (sync_id, status): count
                for sync_id, status, count in conn.execute(
                    select(o.synchronization_id, o.status, func.count())
                    .where(o.action == outbox.NOTIFY)
                    .group_by(o.synchronization_id, o.status)
                ).all()
            }
        found = []
        for sync in EntityService("synchronization", self.context).list():
            config = _expand_dotted(dict(sync.get("sourceConfig") or {}))
            if is_push(sync) or not config.get("kanaal"):
                continue
            found.append(
                {
                    "kanaal": str(config["kanaal"]),
                    "kenmerken": config.get("kenmerken") or {},
                    "synchronization": sync,
                    "queued": counts.get((sync["uuid"], outbox.PENDING), 0),
                    "failed": counts.get((sync["uuid"], outbox.FAILED), 0),
                }
            )
        return sorted(found, key=lambda s: (s["kanaal"], str(s["synchronization"].get("name") or "")))

    def enqueue(self, notification: dict[str, Any]) -> int:
        """Queue the notification for each subscribed synchronisation (committed on return);
        returns how many. Rows of one record (its ``resourceUrl``) are processed in order."""
        from . import outbox

        key = str(uuid.uuid5(uuid.NAMESPACE_URL, notification["resourceUrl"]))
        subscribers = self.subscribers(notification)
        with self.context.db.begin() as conn:
            return outbox.queue(conn, [(sync["uuid"], key, notification) for sync in subscribers])

    def process(self, sync_id: str, notification: dict[str, Any]) -> dict[str, Any]:
        """One queued notification for one synchronisation: its log, or ``{deleted}`` for a destroy.

        Raises :class:`NotificationFailed` (retryable or not), ``Conflict`` when a run of the
        synchronisation stays busy, ``NotFound`` when the synchronisation was removed."""
        sync = EntityService("synchronization", self.context).get(sync_id)
        if notification["actie"].lower() == "destroy":
            return {"deleted": self._destroy(sync, notification)}
        return self._fetch(sync, notification)

    def handle(self, notification: dict[str, Any]) -> list[dict[str, Any]]:
        """Run the subscribed synchronisations on the announced record now, in this thread (not
        queued: Python callers and tests); one result per synchronisation."""
        results = []
        for sync in self.subscribers(notification):
            try:
                if notification["actie"].lower() == "destroy":
                    results.append(
                        {"synchronization": sync["uuid"], "deleted": self._destroy(sync, notification)}
                    )
                else:
                    results.append({"synchronization": sync["uuid"], "log": self._fetch(sync, notification)})
            except OpenConnectorError as exc:
                log.warning(
                    "notification for %s failed in %s: %s", notification["resourceUrl"], sync["uuid"], exc
                )
                results.append({"synchronization": sync["uuid"], "error": exc.message})
        return results

    def _fetch(self, sync: dict[str, Any], notification: dict[str, Any]) -> dict[str, Any]:
        from .sync import SynchronizationService

        service = SynchronizationService(self.context)
        source = service.calls.resolve(sync["sourceId"])
        shown = redact_url(notification["resourceUrl"], source_secrets(source))  # kept in lastError
        try:
            result = service.calls.call(source, notification["resourceUrl"], "GET")
        except OpenConnectorError as exc:  # unreachable, rate limit exhausted: try again later
            raise NotificationFailed(f"Fetching {shown}: {exc.message}", retryable=True) from None
        except httpx.HTTPError as exc:
            raise NotificationFailed(f"Fetching {shown}: {type(exc).__name__}", retryable=True) from None
        if not result.ok:
            status = result.status_code
            raise NotificationFailed(
                f"Fetching {result.url} answered {status} {result.status_message}",
                retryable=status in (408, 429) or status >= 500,
            )
        try:
            record = result.json()
        except ValueError:
            raise NotificationFailed(f"Fetching {result.url} did not answer JSON", retryable=False) from None
        if not isinstance(record, dict):
            raise NotificationFailed(f"Fetching {result.url} did not answer a JSON object", retryable=False)
        return service.synchronize(sync, records=[record], wait=5.0)

    def _destroy(self, sync: dict[str, Any], notification: dict[str, Any]) -> int:
        """Delete the object the destroyed record became (its origin id: the URL or its last part)."""
        from ..register.objects import ObjectService

        url = notification["resourceUrl"]
        candidates = [url, url.rstrip("/").rsplit("/", 1)[-1]]
        c = t.contracts.c
        with self.context.db.begin() as conn:
            rows = conn.execute(
                select(c.id, c.target_id).where(
                    c.synchronization_id == sync["uuid"], c.origin_id.in_(candidates)
                )
            ).all()
            if not rows:
                return 0
            deleted = ObjectService(self.context).delete_objects([r.target_id for r in rows], conn=conn)
            conn.execute(delete(t.contracts).where(c.id.in_([r.id for r in rows])))
        return deleted
