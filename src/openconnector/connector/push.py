"""Push synchronisations: a register's objects sent to an external API ("intern → extern").

A synchronisation with ``sourceType: register/schema`` (``sourceId: "<register>/<schema>"``)
and ``targetType: api`` (``targetId``: a source) sends each object of the schema
through its mapping to that source::

    object ─> conditions ─> mapping ─> hash of the body ─┬─ unchanged since last sent ─> skipped
                                                        ├─ no contract  ─> POST endpoint, id read at idPosition
                                                        └─ contract     ─> PUT updateEndpoint | endpoint/{id}
    object gone, contract left ─> DELETE deleteEndpoint | endpoint/{id}

The contract (one per synchronisation and object, ``connector/contracts.py``'s
table) keeps the id the remote API gave, so a retried create becomes an update,
never a duplicate. The calls go through the application's ``CallService``: the
source's authentication, call logs and redaction apply. A full run
(``SynchronizationService().synchronize(sync)``) sends every object; the outbox
(``connector/outbox.py``) sends one object per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ..clock import now_iso
from ..errors import BadRequest, NotFound, OpenConnectorError
from ..store import tables as t
from ..store.ids import new_uuid
from .call import CallService as BaseCallService
from .entities import EntityService
from .mapping import MappingError
from .records import MISSING, content_hash, get_path

PUSH_SOURCE_TYPE = "register/schema"
EVENTS = ("create", "update", "delete")
#: How many would-be calls a test run lists.
MAX_PREVIEW = 100
_BATCH = 500


def is_push(sync: dict[str, Any]) -> bool:
    """Whether a synchronisation sends a register's objects out (rather than pulling in)."""
    return str(sync.get("sourceType") or "").lower() == PUSH_SOURCE_TYPE


def trigger_events(sync: dict[str, Any]) -> set[str]:
    """The object events that trigger a push synchronisation (``triggerOnlyOnEvents``; all when unset)."""
    raw = sync.get("triggerOnlyOnEvents")
    if raw in (None, "", []):
        return set(EVENTS)
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return {str(e).strip().lower() for e in items if str(e).strip()} & set(EVENTS)


class PushFailed(OpenConnectorError):
    """The remote API refused or could not take a push; ``retryable`` for 5xx, 429 and transport errors."""

    status = 502

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message, remoteStatus=status)
        self.retryable = retryable
        self.remote_status = status


class Pusher:
    """Sends single objects of a push synchronisation (a run's or an event's)."""

    def __init__(self, service: Any) -> None:
        self.service = service  # the SynchronizationService: context, calls, mappings
        self.context = service.context
        self.db = service.context.db

    # -- planning ------------------------------------------------------------------

    def plan(self, sync: dict[str, Any]) -> dict[str, Any]:
        """Everything a push needs, checked up front so a misconfiguration is one clear 400."""
        missing = [k for k in ("sourceId", "targetId") if not sync.get(k)]
        if missing:
            raise BadRequest(
                f"Synchronization {sync.get('name')!r} has no {' and no '.join(missing)}; "
                "set them before running it",
                fields=missing,
            )
        target_type = str(sync.get("targetType") or "api").lower()
        if target_type != "api":
            raise BadRequest(
                f"A synchronization with sourceType 'register/schema' sends objects to an API: "
                f"targetType must be 'api', not {target_type!r}",
                field="targetType",
            )
        ref = str(sync["sourceId"])
        if ref.count("/") != 1:
            raise BadRequest(f"sourceId must be '<register>/<schema>', got {ref!r}", field="sourceId")
        try:
            register, schema = self.service.objects.resolve(*ref.split("/"))
        except NotFound as exc:
            raise BadRequest(f"The source {ref!r} does not exist: {exc.message}", field="sourceId") from None
        try:
            target = self.service.calls.resolve(sync["targetId"])
        except NotFound:
            raise BadRequest(
                f"The target source {sync['targetId']!r} does not exist", field="targetId"
            ) from None
        config = dict(sync.get("targetConfig") or {})
        mapping = None
        if sync.get("sourceTargetMapping"):
            try:
                mapping = EntityService("mapping", self.context).get(sync["sourceTargetMapping"])
            except NotFound:
                raise BadRequest(
                    f"The mapping {sync['sourceTargetMapping']!r} does not exist", field="sourceTargetMapping"
                ) from None
        conditions = sync.get("conditions") or None
        if conditions is not None and not isinstance(conditions, dict | list | bool):
            raise BadRequest("conditions must be a JSON Logic object", field="conditions")
        mapping_hash = content_hash(
            [mapping and [mapping.get(k) for k in ("mapping", "unset", "cast", "passThrough")], config]
        )
        return {
            "sync": sync,
            "register": register,
            "schema": schema,
            "target": target,
            "config": config,
            "endpoint": str(config.get("endpoint") or ""),
            "mapping": self.service.mappings.compile(mapping) if mapping else None,
            "mapping_hash": mapping_hash,
            "conditions": conditions if conditions not in ({}, []) else None,
            "events": trigger_events(sync),
        }

    # -- one object ----------------------------------------------------------------

    def body(self, plan: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        """The mapped body sent for ``obj`` (without a mapping: its properties, no ``id``/``@self``)."""
        if plan["mapping"] is not None:
            mapped = plan["mapping"].apply(obj)
            if not isinstance(mapped, dict):
                raise MappingError(f"The mapping produced {type(mapped).__name__}, not an object")
            return mapped
        return {k: v for k, v in obj.items() if k not in ("id", "@self")}

    def send(
        self,
        plan: dict[str, Any],
        object_id: str,
        obj: dict[str, Any] | None,
        *,
        test: bool = False,
        force: bool = False,
        preview: list[dict[str, Any]] | None = None,
        finish: Callable[[Connection], None] | None = None,
    ) -> str:
        """Send one object (``obj`` None: it was deleted); returns what happened:
        ``created``, ``updated``, ``deleted``, ``skipped`` or ``invalid``.

        ``finish`` runs in the transaction that saves the contract after a call (the
        outbox deletes the delivered event there: one commit per event, not two).
        Raises :class:`PushFailed` when the remote API refuses or cannot be reached.
        """
        sync_id = plan["sync"]["uuid"]
        with self.db.connect() as conn:
            contract = conn.execute(
                select(t.contracts).where(
                    t.contracts.c.synchronization_id == sync_id, t.contracts.c.origin_id == object_id
                )
            ).first()
        if obj is None:
            if contract is None or not contract.target_id:
                return "skipped"
            return self._delete(plan, contract, test, preview, finish)
        if plan["conditions"] is not None:
            from .sync import _conditions_hold

            if not _conditions_hold(plan["conditions"], obj):
                return "skipped"
        body = self.body(plan, obj)
        body_hash = content_hash(body)
        if (
            contract is not None
            and contract.target_id
            and not force
            and contract.origin_hash == body_hash
            and contract.mapping_hash == plan["mapping_hash"]
        ):
            return "skipped"
        config = plan["config"]
        if contract is not None and contract.target_id:
            method = str(config.get("updateMethod") or "PUT").upper()
            url = _address(config.get("updateEndpoint"), plan["endpoint"], contract.target_id)
            if test:
                return _preview(preview, "updated", method, url, body)
            result = self._call(plan, url, method, body, allow_missing=True)
            if result is not None:
                self._keep(
                    contract, object_id, sync_id, body_hash, plan, contract.target_id, "update", finish
                )
                return "updated"
            # the remote record is gone: create it afresh below
        if test:
            return _preview(preview, "created", "POST", plan["endpoint"], body)
        result = self._call(plan, plan["endpoint"], "POST", body)
        remote_id = self._remote_id(plan, result, body)
        self._keep(contract, object_id, sync_id, body_hash, plan, remote_id, "create", finish)
        return "created"

    def _delete(
        self, plan: dict[str, Any], contract: Any, test: bool, preview: list | None, finish: Any = None
    ) -> str:
        config = plan["config"]
        method = str(config.get("deleteMethod") or "DELETE").upper()
        url = _address(config.get("deleteEndpoint"), plan["endpoint"], contract.target_id)
        if test:
            return _preview(preview, "deleted", method, url, None)
        self._call(plan, url, method, None, allow_missing=True)  # already gone remotely is fine
        with self.db.begin() as conn:
            conn.execute(delete(t.contracts).where(t.contracts.c.id == contract.id))
            if finish is not None:
                finish(conn)
        return "deleted"

    def _call(
        self, plan: dict[str, Any], url: str, method: str, body: Any, allow_missing: bool = False
    ) -> Any:
        extra = {
            k: v
            for k, v in plan["config"].items()
            if k in ("headers", "query", "timeout", "retries", "backoff", "logBody")
        }
        try:
            # the plan's target already holds the source with its secrets: no lookup per object
            result = BaseCallService.call(
                self.service.calls, plan["target"], url, method, json=body, config=extra or None
            )
        except PushFailed:
            raise
        except OpenConnectorError as exc:  # unreachable, rate limit exhausted: try again later
            raise PushFailed(f"{method} {url}: {exc.message}", retryable=True) from None
        except Exception as exc:  # transport errors that escaped the call service
            raise PushFailed(f"{method} {url}: {type(exc).__name__}: {exc}", retryable=True) from None
        if result.ok:
            return result
        if allow_missing and result.status_code in (404, 410):
            return None
        status = result.status_code
        raise PushFailed(
            f"{method} {result.url} answered {status} {result.status_message}: {result.body[:300]}",
            retryable=status == 429 or status >= 500 or status == 408,
            status=status,
        )

    def _remote_id(self, plan: dict[str, Any], result: Any, body: dict[str, Any]) -> str:
        config = plan["config"]
        position = str(config.get("idPosition") or config.get("idposition") or "id")
        in_body = config.get("idInRequestBody")
        value: Any = MISSING
        if in_body:
            value = get_path(body, str(in_body))
        if value is MISSING or value in (None, ""):
            try:
                answer = result.json()
            except Exception:
                answer = None
            value = get_path(answer, position) if isinstance(answer, dict) else MISSING
        if value is MISSING or value in (None, "") or isinstance(value, dict | list):
            raise PushFailed(
                f"The API created the object but its answer has no id at idPosition {position!r}",
                retryable=False,
            )
        return str(value)

    def _keep(
        self,
        contract: Any,
        object_id: str,
        sync_id: str,
        body_hash: str,
        plan: dict[str, Any],
        remote_id: str,
        action: str,
        finish: Callable[[Connection], None] | None = None,
    ) -> None:
        now = now_iso()
        values = {
            "origin_hash": body_hash,
            "mapping_hash": plan["mapping_hash"],
            "target_id": remote_id,
            "target_last_action": action,
            "source_last_changed": now,
            "source_last_checked": now,
            "source_last_synced": now,
            "target_last_synced": now,
            "updated": now,
        }
        with self.db.begin() as conn:
            if contract is None:
                conn.execute(
                    insert(t.contracts).values(
                        uuid=new_uuid(),
                        synchronization_id=sync_id,
                        origin_id=object_id,
                        created=now,
                        **values,
                    )
                )
            else:
                conn.execute(update(t.contracts).where(t.contracts.c.id == contract.id).values(**values))
            if finish is not None:
                finish(conn)

    # -- a full run ----------------------------------------------------------------

    def run(self, run: Any, plan: dict[str, Any], stop: Any, heartbeat: Any) -> None:
        """Send every object of the schema, then delete remotely what no longer exists here."""
        from .. import shutdown

        register, schema = plan["register"], plan["schema"]
        preview: list[dict[str, Any]] | None = [] if run.test else None
        seen: set[str] = set()
        last = 0
        c = t.objects.c
        while True:
            with self.db.connect() as conn:
                rows = conn.execute(
                    select(c.id, c.uuid, c.register_id, c.schema_id, c.object, c.version)
                    .add_columns(c.owner, c.created, c.updated)
                    .where(c.register_id == register["id"], c.schema_id == schema["id"], c.id > last)
                    .order_by(c.id)
                    .limit(_BATCH)
                ).all()
            if not rows:
                break
            last = rows[-1].id
            run.pages += 1
            for row in rows:
                if (stop is not None and stop.is_set()) or shutdown.STOP.is_set():
                    run.stop_reason = "stopped"
                    run.status, run.message = "interrupted", "Stopped; nothing was deleted remotely"
                    return
                obj = self.service.objects._wire(row, schema)
                run.objects["found"] += 1
                seen.add(row.uuid)
                self._count(run, row.uuid, obj, plan, preview)
            heartbeat.beat()
        with self.db.connect() as conn:  # objects sent before and gone here: delete remotely
            gone = (
                conn.execute(
                    select(t.contracts.c.origin_id).where(
                        t.contracts.c.synchronization_id == run.sync["uuid"]
                    )
                )
                .scalars()
                .all()
            )
        for origin in gone:
            if origin not in seen:
                self._count(run, origin, None, plan, preview)
        run.complete = True
        if preview is not None:
            run.preview = preview
        if run.objects["invalid"]:
            run.status = "warning"
            run.message = (
                f"Completed with {run.objects['invalid']} of {run.objects['found']} objects not sent"
            )
        else:
            run.status, run.message = "success", "Success"

    def _count(
        self, run: Any, object_id: str, obj: dict[str, Any] | None, plan: dict[str, Any], preview: list | None
    ) -> None:
        try:
            outcome = self.send(plan, object_id, obj, test=run.test, force=run.force, preview=preview)
        except MappingError as exc:
            run.invalid(object_id, exc.message)
            return
        except PushFailed as exc:
            run.invalid(object_id, exc.message)
            return
        run.objects[outcome] += 1


def _address(template: Any, endpoint: str, remote_id: str) -> str:
    """Where an update or delete goes: the template with the remote id filled in, or ``endpoint/{id}``."""
    if template:
        text = str(template)
        for marker in ("{{originId}}", "{{ originId }}", "{{targetId}}", "{{ targetId }}", "{id}"):
            text = text.replace(marker, remote_id)
        return text
    return f"{endpoint.rstrip('/')}/{remote_id}"


def _preview(preview: list | None, outcome: str, method: str, url: str, body: Any) -> str:
    if preview is not None and len(preview) < MAX_PREVIEW:
        preview.append({"action": outcome, "method": method, "endpoint": url, "body": body})
    return outcome
