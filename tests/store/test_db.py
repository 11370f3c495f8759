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


def _has_statistics(context, table: str = "objects") -> bool:
    with context.db.connect() as conn:
        known = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
        return bool(
            known and conn.exec_driver_sql("SELECT 1 FROM sqlite_stat1 WHERE tbl = ?", (table,)).first()
        )


def test_a_bulk_load_gives_the_planner_statistics(context, make_dcat):
    """Without statistics SQLite served the public list at 100,000 datasets from the date
    index, sorting every match (79 ms instead of 29 in-process; bench/catalog_list.py)."""
    from openconnector.register.objects import ObjectService

    make_dcat(context)
    objects = ObjectService(context)
    objects.save_objects([{"title": f"Dataset {i}"} for i in range(999)], "dcat", "dataset")
    assert not _has_statistics(context)  # small registers need none
    objects.save_objects([{"title": f"Dataset {i}"} for i in range(1000)], "dcat", "dataset")
    assert _has_statistics(context)


def test_a_register_filled_without_statistics_gets_them_when_the_service_starts(settings, make_dcat):
    from openconnector.context import Context
    from openconnector.register.objects import ObjectService

    context = Context(settings)
    try:
        make_dcat(context)
        objects = ObjectService(context)
        for start in range(0, 1500, 500):  # batches too small to analyse on their own
            objects.save_objects([{"title": f"D {i}"} for i in range(start, start + 500)], "dcat", "dataset")
        assert not _has_statistics(context)
    finally:
        context.close()
    reopened = Context(settings)
    try:
        assert _has_statistics(reopened)
    finally:
        reopened.close()


def test_after_commit_callbacks_run_once_after_a_commit_and_never_after_a_rollback(context):
    """The outbox wakes its deliverers this way (a SQLAlchemy commit event would slow every write)."""
    import pytest

    from openconnector.store.db import AFTER_COMMIT

    ran: list[str] = []
    with context.db.begin() as conn:
        conn.info.setdefault(AFTER_COMMIT, []).append(lambda: ran.append("committed"))
        assert ran == []  # not before the commit
    assert ran == ["committed"]

    with pytest.raises(RuntimeError), context.db.begin() as conn:
        conn.info.setdefault(AFTER_COMMIT, []).append(lambda: ran.append("rolled back"))
        raise RuntimeError("the work failed")
    with context.db.begin():
        pass  # the next transaction on the same connection does not inherit the callback
    assert ran == ["committed"]
