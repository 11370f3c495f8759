"""Synchronisation contracts: which target object each source record became.

One contract per (synchronisation, origin id) holds the target object's uuid,
a hash of the source record and a hash of the mapping it went through. A re-run
skips a record whose hashes are unchanged (and whose target still exists),
updates it otherwise, and creates a contract for a new origin id: never a
duplicate. ``source_last_checked`` marks every record a run saw, so after a
complete run the contracts left unmarked are the records that vanished.
Everything works per page (one query to read, one to write), never per record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, delete, or_, select

from ..clock import now_iso
from ..store import tables as t
from ..store.ids import new_uuid

_CHUNK = 500


def _in(mark: str, count: int) -> str:
    """``IN (?, ?, ...)`` for SQLite; ``= ANY(%s)`` with one array for PostgreSQL, whose
    driver otherwise re-parses a 500-placeholder statement on every page."""
    return f"IN ({', '.join([mark] * count)})" if mark == "?" else "= ANY(%s)"


def _in_params(mark: str, values: list[str]) -> tuple[Any, ...]:
    return tuple(values) if mark == "?" else (list(values),)


class Contract(NamedTuple):
    id: int
    origin_id: str
    origin_hash: str | None
    mapping_hash: str | None
    target_id: str | None
    target_exists: bool


class ContractStore:
    def __init__(self, synchronization_id: str) -> None:
        self.sync_id = synchronization_id

    def for_origins(self, conn: Connection, origin_ids: Sequence[str]) -> dict[str, Contract]:
        """Existing contracts by origin id, each knowing whether its target object still exists.

        One query per 500 records, through the driver: the SQL-building cost of a
        generic IN list of 500 parameters was a third of an unchanged re-run.
        """
        found: dict[str, Contract] = {}
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        for start in range(0, len(origin_ids), _CHUNK):
            chunk = list(origin_ids[start : start + _CHUNK])
            # EXISTS, not a join: an index probe per contract whatever the planner's statistics
            # say (PostgreSQL chose sequential scans of objects on tables filled during the run).
            sql = (
                "SELECT c.id, c.origin_id, c.origin_hash, c.mapping_hash, c.target_id, "
                "EXISTS (SELECT 1 FROM objects o WHERE o.uuid = c.target_id) "
                "FROM synchronization_contracts c "
                f"WHERE c.synchronization_id = {mark} AND c.origin_id {_in(mark, len(chunk))}"
            )
            cursor = conn.connection.cursor()  # the driver's cursor: fetchall without per-row wrapping
            try:
                cursor.execute(sql, (self.sync_id, *_in_params(mark, chunk)))
                rows = cursor.fetchall()
            finally:
                cursor.close()
            for row in rows:
                found[row[1]] = Contract(row[0], row[1], row[2], row[3], row[4], bool(row[5]))
        return found

    def write(
        self, conn: Connection, new: list[dict[str, Any]], changed: list[dict[str, Any]], checked_at: str
    ) -> None:
        """Insert new contracts and update changed ones; both marked as seen at ``checked_at``."""
        now = now_iso()
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        if new:
            columns = (
                "uuid",
                "synchronization_id",
                "origin_id",
                "origin_hash",
                "mapping_hash",
                "target_id",
                "target_hash",
                "target_last_action",
                "source_last_changed",
                "source_last_checked",
                "source_last_synced",
                "target_last_synced",
                "created",
                "updated",
            )
            sql = (
                f"INSERT INTO synchronization_contracts ({', '.join(columns)}) "
                f"VALUES ({', '.join([mark] * len(columns))})"
            )
            conn.exec_driver_sql(
                sql,
                [
                    (
                        new_uuid(),
                        self.sync_id,
                        n["origin_id"],
                        n["origin_hash"],
                        n["mapping_hash"],
                        n["target_id"],
                        n.get("target_hash"),
                        "create",
                        now,
                        checked_at,
                        now,
                        now,
                        now,
                        now,
                    )
                    for n in new
                ],
            )
        if changed:
            sql = (
                f"UPDATE synchronization_contracts SET origin_hash = {mark}, mapping_hash = {mark}, target_id = {mark}, "
                f"target_last_action = 'update', source_last_changed = {mark}, source_last_checked = {mark}, "
                f"source_last_synced = {mark}, target_last_synced = {mark}, updated = {mark} WHERE id = {mark}"
            )
            conn.exec_driver_sql(
                sql,
                [
                    (
                        c["origin_hash"],
                        c["mapping_hash"],
                        c["target_id"],
                        now,
                        checked_at,
                        now,
                        now,
                        now,
                        c["id"],
                    )
                    for c in changed
                ],
            )

    def mark_seen(self, conn: Connection, origin_ids: Iterable[str], checked_at: str) -> None:
        """Mark contracts of records a run saw but did not write (skipped, invalid)."""
        ids = list(origin_ids)
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            conn.exec_driver_sql(
                f"UPDATE synchronization_contracts SET source_last_checked = {mark} "
                f"WHERE synchronization_id = {mark} AND origin_id {_in(mark, len(chunk))}",
                (checked_at, self.sync_id, *_in_params(mark, chunk)),
            )

    def unseen_targets(self, conn: Connection, run_started: str, limit: int = 1000) -> list[Any]:
        """Contracts whose record a complete run did not see: their records vanished at the source."""
        c = t.contracts.c
        return conn.execute(
            select(c.id, c.origin_id, c.target_id)
            .where(
                c.synchronization_id == self.sync_id,
                or_(c.source_last_checked.is_(None), c.source_last_checked < run_started),
            )
            .limit(limit)
        ).all()

    def remove(self, conn: Connection, contract_ids: list[int]) -> None:
        for start in range(0, len(contract_ids), _CHUNK):
            conn.execute(
                delete(t.contracts).where(t.contracts.c.id.in_(contract_ids[start : start + _CHUNK]))
            )

    def count_missing(self, conn: Connection, seen: set[str]) -> int:
        """How many contracts have an origin id outside ``seen`` (a test run's would-be deletes)."""
        c = t.contracts.c
        missing = 0
        last_id = 0
        while True:
            rows = conn.execute(
                select(c.id, c.origin_id)
                .where(c.synchronization_id == self.sync_id, c.id > last_id)
                .order_by(c.id)
                .limit(5000)
            ).all()
            if not rows:
                return missing
            missing += sum(1 for r in rows if r.origin_id not in seen)
            last_id = rows[-1].id


def list_contracts(
    conn: Connection,
    *,
    synchronization_id: str | None = None,
    origin_id: str | None = None,
    target_id: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[dict], int]:
    from sqlalchemy import func

    c = t.contracts.c
    clauses = []
    if synchronization_id:
        clauses.append(c.synchronization_id == synchronization_id)
    if origin_id:
        clauses.append(c.origin_id == origin_id)
    if target_id:
        clauses.append(c.target_id == target_id)
    where = and_(*clauses) if clauses else None
    q = select(t.contracts).order_by(c.id).limit(limit).offset(offset)
    n = select(func.count()).select_from(t.contracts)
    if where is not None:
        q, n = q.where(where), n.where(where)
    rows = conn.execute(q).all()
    return [contract_to_wire(r) for r in rows], conn.execute(n).scalar_one()


def contract_to_wire(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "uuid": row.uuid,
        "synchronizationId": row.synchronization_id,
        "originId": row.origin_id,
        "originHash": row.origin_hash,
        "targetId": row.target_id,
        "targetHash": row.target_hash,
        "mappingHash": row.mapping_hash,
        "targetLastAction": row.target_last_action,
        "sourceLastChanged": row.source_last_changed,
        "sourceLastChecked": row.source_last_checked,
        "sourceLastSynced": row.source_last_synced,
        "targetLastSynced": row.target_last_synced,
        "created": row.created,
        "updated": row.updated,
    }
