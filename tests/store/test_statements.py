"""Prepared bulk writes: more rows than SQLite takes parameters in one statement."""

from __future__ import annotations

from openconnector.store.statements import (
    MAX_SQLITE_PARAMS,
    insert_statements,
    run_statements,
    update_statements,
)


def test_bulk_insert_and_update_past_the_parameter_limit(any_context):
    rows = [(f"k{i}", f"v{i}") for i in range(MAX_SQLITE_PARAMS)]  # twice what one statement binds
    with any_context.db.begin() as conn:
        dialect = conn.dialect.name
        conn.exec_driver_sql("CREATE TABLE bulk (k VARCHAR(20) PRIMARY KEY, v VARCHAR(20), tag VARCHAR(20))")
        inserts = insert_statements(dialect, "bulk", ("k", "v"), rows, shared={"tag": "new"})
        run_statements(conn, inserts)
        updates = update_statements(
            dialect, "bulk", "k", ("v",), [(k, v.upper()) for k, v in rows[::3]], shared={"tag": "upd"}
        )
        run_statements(conn, updates)
        if dialect == "sqlite":
            assert len(inserts) > 1 and len(updates) == 1  # chunked under the limit
        stored = dict(conn.exec_driver_sql("SELECT k, v || '/' || tag FROM bulk").all())
        conn.exec_driver_sql("DROP TABLE bulk")
    assert len(stored) == len(rows)
    assert stored["k0"] == "V0/upd" and stored["k1"] == "v1/new" and stored["k29997"] == "V29997/upd"
