"""The SQLite engine's settings that keep a long run's memory flat."""

from __future__ import annotations


def test_sequential_transactions_reuse_the_warm_connection(context):
    """Each SQLite connection grows a page cache of its own (up to 16 MB): handing out the
    connection just returned keeps the others idle and small."""
    db = context.db
    with db.connect() as first, db.connect() as second:  # concurrent users get their own
        assert first.connection.dbapi_connection is not second.connection.dbapi_connection
        last = first.connection.dbapi_connection
    # ``first`` was returned last (its cache warmest): sequential work keeps to it
    for _ in range(4):
        with db.begin() as conn:
            assert conn.connection.dbapi_connection is last


def test_optimize_samples_instead_of_reading_whole_tables(context):
    with context.db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA analysis_limit").scalar() == 1000
