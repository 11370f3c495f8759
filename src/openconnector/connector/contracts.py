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

from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, and_, delete, select

from ..clock import now_iso
from ..store import tables as t
from ..store.ids import new_uuids
from ..store.statements import Statement, insert_statements, update_statements

_CHUNK = 500
#: What a new contract has of its own; the rest is the run's (see ``write_statements``).
_NEW_COLUMNS = ("uuid", "origin_id", "origin_hash", "target_id")
_CHANGED_COLUMNS = ("origin_hash", "target_id")


#: Whether contract ``c``'s target object exists, as one uuid-index probe per contract. A scalar
#: subquery, not a join or ``EXISTS``: PostgreSQL turned both into one scan of every object
#: (a hash join; a "hashed SubPlan" once a page held more than ~500 contracts), 23-46 ms a
#: page at 100,000 objects and growing with the register, where the probes take 2-3 ms.
_TARGET_EXISTS = "(SELECT 1 FROM objects o WHERE o.uuid = c.target_id LIMIT 1) IS NOT NULL"


def _mark(dialect: str) -> str:
    """The driver's parameter marker."""
    return "?" if dialect == "sqlite" else "%s"


def _list_test(mark: str, negate: bool = False) -> str:
    """``IN``/``NOT IN`` a list given as one parameter (see :func:`_list_param`): a JSON
    array unpacked by ``json_each`` on SQLite, an array on PostgreSQL. Any length fits,
    and the statement's text does not change with it (no re-parsing per page)."""
    if mark == "?":
        return f"{'NOT ' if negate else ''}IN (SELECT value FROM json_each(?))"
    return "<> ALL(%s)" if negate else "= ANY(%s)"


def _list_param(mark: str, values: Sequence[str]) -> Any:
    return orjson.dumps(list(values)) if mark == "?" else list(values)


class Contract(NamedTuple):
    id: int
    origin_id: str
    origin_hash: str | None
    mapping_hash: str | None
    target_id: str | None
    target_exists: bool


class FirstRun:
    """What a run of a synchronisation that had no contracts when it began has written so far.

    Its contract lookups can then only find contracts it wrote itself: a page whose origin
    ids it has not met, or whose page hash it has not written, is known to have none, and
    the query is skipped (a first run of 100,000 records on PostgreSQL spent 2 of its 6.7 s
    in those two queries, every one of them empty). Exact, not a guess: an origin or page
    met before is always looked up. Past :data:`LIMIT` origins it stops remembering (memory
    stays flat) and every page is looked up again.
    """

    LIMIT = 100_000

    def __init__(self) -> None:
        self.origins: set[str] | None = set()
        self.pages: set[str] = set()

    def may_have(self, origins: set[str]) -> bool:
        """Whether contracts of some of ``origins`` may exist."""
        return self.origins is None or not self.origins.isdisjoint(origins)

    def may_have_page(self, page_hash: str) -> bool:
        """Whether contracts may have been written or seen on the page ``page_hash``."""
        return self.origins is None or page_hash in self.pages

    def add(self, origins: set[str], page_hash: str | None) -> None:
        """The run is about to write (or mark seen) contracts of ``origins`` on ``page_hash``."""
        if self.origins is None:
            return
        self.origins |= origins
        if page_hash is not None:
            self.pages.add(page_hash)
        if len(self.origins) > self.LIMIT:
            self.origins = None
            self.pages.clear()


class ContractStore:
    def __init__(self, synchronization_id: str) -> None:
        self.sync_id = synchronization_id

    def first_run(self, conn: Connection) -> FirstRun | None:
        """A :class:`FirstRun` when the synchronisation has no contracts yet, else None."""
        mark = _mark(conn.dialect.name)
        found = conn.exec_driver_sql(
            f"SELECT 1 FROM synchronization_contracts WHERE synchronization_id = {mark} LIMIT 1",
            (self.sync_id,),
        ).first()
        return None if found else FirstRun()

    def for_origins(self, conn: Connection, origin_ids: Sequence[str]) -> dict[str, Contract]:
        """Existing contracts by origin id, each knowing whether its target object still exists.

        One query for the whole page, through the driver: the SQL-building cost of a
        generic IN list of 500 parameters was a third of an unchanged re-run.
        """
        mark = _mark(conn.dialect.name)
        sql = (
            f"SELECT c.id, c.origin_id, c.origin_hash, c.mapping_hash, c.target_id, {_TARGET_EXISTS} "
            "FROM synchronization_contracts c "
            f"WHERE c.synchronization_id = {mark} AND c.origin_id {_list_test(mark)}"
        )
        cursor = conn.connection.cursor()  # the driver's cursor: fetchall without per-row wrapping
        try:
            cursor.execute(sql, (self.sync_id, _list_param(mark, origin_ids)))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return {row[1]: Contract(row[0], row[1], row[2], row[3], row[4], bool(row[5])) for row in rows}

    def write_statements(
        self,
        dialect: str,
        new: list[tuple[str, str, str]],
        changed: list[tuple[int, str, str]],
        mapping_hash: str,
        checked_at: str,
        page_hash: str | None = None,
    ) -> list[Statement]:
        """Insert new contracts ``(origin id, origin hash, target id)`` and update changed ones
        ``(contract id, origin hash, target id)``, all mapped under ``mapping_hash`` and seen at
        ``checked_at`` on the page ``page_hash``; as statements to run later."""
        now = now_iso()
        run = {
            "mapping_hash": mapping_hash,
            "source_last_changed": now,
            "source_last_checked": checked_at,
            "source_last_synced": now,
            "target_last_synced": now,
            "updated": now,
            "page_hash": page_hash,
        }
        return [
            *insert_statements(
                dialect,
                "synchronization_contracts",
                _NEW_COLUMNS,
                [(u, *entry) for u, entry in zip(new_uuids(len(new)), new, strict=True)],
                shared={
                    "synchronization_id": self.sync_id,
                    "target_last_action": "create",
                    "created": now,
                    **run,
                },
            ),
            *update_statements(
                dialect,
                "synchronization_contracts",
                "id",
                _CHANGED_COLUMNS,
                changed,
                shared={"target_last_action": "update", **run},
            ),
        ]

    def seen_statements(
        self, dialect: str, origin_ids: list[str], checked_at: str, page_hash: str | None = None
    ) -> list[Statement]:
        """Mark contracts of records a run saw but did not write (skipped, invalid), seen on
        the page ``page_hash``."""
        if not origin_ids:
            return []
        mark = _mark(dialect)
        return [
            Statement(
                f"UPDATE synchronization_contracts SET source_last_checked = {mark}, page_hash = {mark} "
                f"WHERE synchronization_id = {mark} AND origin_id {_list_test(mark)}",
                (checked_at, page_hash, self.sync_id, _list_param(mark, origin_ids)),
            )
        ]

    def page_census(self, conn: Connection, page_hash: str) -> tuple[int, int]:
        """How many contracts were last seen on the page ``page_hash``, and how many of
        their target objects still exist."""
        mark = _mark(conn.dialect.name)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(
                f"SELECT count(*), coalesce(sum(CASE WHEN {_TARGET_EXISTS} THEN 1 ELSE 0 END), 0) "
                "FROM synchronization_contracts c "
                f"WHERE c.synchronization_id = {mark} AND c.page_hash = {mark}",
                (self.sync_id, page_hash),
            )
            total, present = cursor.fetchone()
        finally:
            cursor.close()
        return int(total), int(present)

    def unseen_targets(
        self, conn: Connection, run_started: str, seen_pages: Sequence[str] = (), limit: int = 1000
    ) -> list[Any]:
        """Contracts whose record a complete run did not see: their records vanished at the source.

        A contract of a page the run skipped whole (``seen_pages``) was seen. The
        skipped pages go in as one parameter (a JSON array on SQLite, an array on
        PostgreSQL): a run of many small pages skips tens of thousands, more than
        either database takes as separate parameters.
        """
        mark = _mark(conn.dialect.name)
        sql = (
            "SELECT id, origin_id, target_id FROM synchronization_contracts "
            f"WHERE synchronization_id = {mark} "
            f"AND (source_last_checked IS NULL OR source_last_checked < {mark})"
        )
        params: tuple[Any, ...] = (self.sync_id, run_started)
        if seen_pages:
            sql += f" AND (page_hash IS NULL OR page_hash {_list_test(mark, negate=True)})"
            params += (_list_param(mark, seen_pages),)
        return list(conn.exec_driver_sql(f"{sql} LIMIT {int(limit)}", params))

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
