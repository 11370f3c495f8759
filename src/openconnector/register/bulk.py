"""Bulk loads: a schema's property indexes built once after a large load, not row by row.

Every object written updates its schema's property indexes (``RegisterService.ensure_indexes``:
one expression index per filterable property, each evaluating the JSON on every insert).
A first run of 100,000 records into an empty schema spends most of its database time
there; building the same indexes once after the load reads each row once and sorts.
A build scans the whole objects table (other schemas' rows too), so a load defers its
schema's indexes only once it has written at least :data:`MIN_ROWS` objects and at
least ``1/SHARE`` of the rows the table held when it began: the schema was empty or
small against what the load writes, and the rows it saves from the indexes outweigh
the scan. Small runs and runs into large tables keep the indexes as they are.

Interrupt safety: the indexes are built again when the load ends, also when it
fails or is stopped (``finish`` in the run's ``finally``); a process killed in between
leaves them dropped, and the next run into the schema builds them before it starts,
as the service, scheduler and workers do for every schema when they start
(``RegisterService.restore_indexes``). Without them queries stay correct, only slower.
"""

from __future__ import annotations

import logging
from typing import Any

from ..store.db import Database
from .registers import RegisterService

log = logging.getLogger("openconnector.bulk")

#: Objects a load writes before its schema's indexes may be deferred.
MIN_ROWS = 1000
#: ... and it must have written at least 1/SHARE of the rows the table held at its start.
SHARE = 4


class BulkLoad:
    """One load (a synchronisation run) into one schema; see the module docstring.

    ``start()`` before the first write, ``due(n)`` before each write of ``n`` new objects
    and ``defer()`` when it says so, ``finish()`` after the last write, whatever happened.
    """

    def __init__(self, registers: RegisterService, schema: dict[str, Any], db: Database) -> None:
        self.registers = registers
        self.schema = schema
        self.db = db
        self.table_rows = 0
        self.created = 0
        self.deferred = False
        self.done = False

    def start(self) -> None:
        """Build indexes an earlier, killed load left dropped; note the table's size."""
        with self.db.connect() as conn:
            missing = self.registers.missing_indexes(self.schema, conn)
            # rows by their ids: one probe of the primary key each, where count(*) reads an index
            low, high = conn.exec_driver_sql("SELECT min(id), max(id) FROM objects").one()
        self.table_rows = (high - low + 1) if high is not None else 0
        if missing:
            log.warning(
                "schema %s: building %d property indexes left dropped", self.schema["id"], len(missing)
            )
            with self.db.begin() as conn:
                self.registers.ensure_indexes(self.schema, conn)

    def due(self, creating: int) -> bool:
        """Count ``creating`` objects about to be written; True when the load has just become
        large enough to defer the indexes (then call :meth:`defer`, with no write of the
        load's own in flight: on PostgreSQL the drop waits for them)."""
        self.created += creating
        if self.deferred or self.done:
            return False
        return self.created >= MIN_ROWS and self.created * SHARE >= self.table_rows

    def defer(self) -> bool:
        """Drop the indexes now; False (and never again for this load) when they could not be."""
        self.deferred = self._drop()
        self.done = not self.deferred
        return self.deferred

    def finish(self) -> None:
        """Build the deferred indexes (idempotent; a failure is logged, the next start builds them)."""
        if not self.deferred:
            return
        try:
            # No ANALYZE here: on PostgreSQL it took 0.5 s after 100,000 objects, and autovacuum
            # analyses a table that grew this much; SQLite's run ends with PRAGMA optimize.
            with self.db.begin() as conn:
                self.registers.ensure_indexes(self.schema, conn)
            self.deferred = False
            self.done = True
        except Exception:
            log.exception("schema %s: building the property indexes after a load failed", self.schema["id"])

    def _drop(self) -> bool:
        try:
            with self.db.begin() as conn:
                if conn.dialect.name != "sqlite":
                    # DROP INDEX locks the table: rather keep the indexes than queue readers behind a long one
                    conn.exec_driver_sql("SET LOCAL lock_timeout = '1s'")
                self.registers.drop_indexes(self.schema, conn)
        except Exception as exc:
            log.info("schema %s: keeping the property indexes during the load (%s)", self.schema["id"], exc)
            return False
        return True
