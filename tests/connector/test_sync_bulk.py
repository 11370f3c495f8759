"""Bulk first loads (issue 18): a large load into a small schema builds the schema's property
indexes after the load instead of row by row, and the indexes are there again afterwards,
also after a failed, stopped or killed run. The objects and contracts are those of the
row-by-row path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import orjson
import pytest

from openconnector import ObjectService, SynchronizationService
from openconnector.connector.sync import recover_dead_runs
from openconnector.register import bulk
from openconnector.register.registers import RegisterService, property_indexes

RECORDS = 2500
PAGED = "/paged/next?style=next&size=500"


@pytest.fixture
def dcat(any_context, make_dcat, fake_api):
    make_dcat(any_context, value={"type": "integer"})
    fake_api.set_records(RECORDS)
    return any_context


def _save(objects, schema, data):
    return objects.save_object(object=data, register="openconnector", schema=schema)


def _sync(context, fake_api, endpoint=PAGED, **config):
    objects = ObjectService(context)
    source = _save(objects, "source", {"name": "Fake", "type": "api", "location": fake_api.url})
    mapping = _save(objects, "mapping", {"name": "m", "mapping": {"title": "{{ name }}", "value": "value"}})
    return _save(
        objects,
        "synchronization",
        {
            "name": f"bulk {endpoint}",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": endpoint, **config},
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
    )


def _schema(context):
    return ObjectService(context).resolve("dcat", "dataset")[1]


def _missing(context) -> list[str]:
    with context.db.connect() as conn:
        return RegisterService(context).missing_indexes(_schema(context), conn)


def _plan_uses_indexes(context) -> None:
    """A filter on each indexed property is answered from that property's index."""
    schema = _schema(context)
    register = ObjectService(context).resolve("dcat", "dataset")[0]
    sqlite = context.db.is_sqlite
    indexes = property_indexes(schema, context.db.engine.dialect.name)
    # a publishable schema's indexes also hold the publication date: ix_obj_<id>_<prop>_pub
    assert {name.removesuffix("_pub").rsplit("_", 1)[-1] for name, _ in indexes} >= {"title", "value"}
    with context.db.connect() as conn:
        for prop in ("title", "value"):
            name = next(n for n, _ in indexes if n.removesuffix("_pub").endswith(f"_{prop}"))
            expr = (
                f"json_extract(objects.object, '$.\"{prop}\"')"
                if sqlite
                else f"(objects.object ->> '{prop}')"
            )
            where = (
                f"FROM objects WHERE register_id = {register['id']} AND schema_id = {schema['id']} "
                f"AND {expr} = 'Record 7'"
            )
            if sqlite:
                plan = " ".join(
                    str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN SELECT id {where}")
                )
            else:
                conn.exec_driver_sql("SET enable_seqscan = off")
                plan = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN SELECT id {where}"))
            assert name in plan, plan


def _snapshot(context, sync) -> tuple[list, list]:
    """The objects by content and the contracts by origin, without generated ids and times."""
    with context.db.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT uuid, object FROM objects WHERE schema_id = {_schema(context)['id']}"
        )
        documents = {uuid: orjson.loads(o) if isinstance(o, str) else o for uuid, o in rows}
        by_uuid = {uuid: (o["title"], o["value"]) for uuid, o in documents.items()}
        contracts = conn.exec_driver_sql(
            "SELECT origin_id, origin_hash, mapping_hash, target_id, target_last_action "
            f"FROM synchronization_contracts WHERE synchronization_id = '{sync['id']}' ORDER BY origin_id"
        ).all()
    return sorted(by_uuid.values()), [
        (origin, origin_hash, mapping_hash, by_uuid[target], action)
        for origin, origin_hash, mapping_hash, target, action in contracts
    ]


def test_a_first_load_into_an_empty_schema_builds_its_indexes_after_the_load(dcat, fake_api):
    sync = _sync(dcat, fake_api)
    during: list[list[str]] = []
    log = SynchronizationService(dcat).synchronize(sync, progress=lambda _: during.append(_missing(dcat)))
    assert log["status"] == "success" and log["result"]["objects"]["created"] == RECORDS
    assert during[0] == [] and len(during) == 5  # page 1 wrote with its indexes ...
    assert sorted(during[-1]) == sorted(
        n for n, _ in property_indexes(_schema(dcat), dcat.db.engine.dialect.name)
    )
    assert _missing(dcat) == []  # ... pages 2-5 without, and they are built at the end
    _plan_uses_indexes(dcat)
    filtered = ObjectService(dcat).find_all("dcat", "dataset", filters={"value": {"gte": 24000}})
    assert filtered["total"] == 101


def test_a_bulk_load_gives_the_objects_and_contracts_of_the_row_by_row_path(dcat, fake_api, monkeypatch):
    sync = _sync(dcat, fake_api)
    service = SynchronizationService(dcat)
    assert service.synchronize(sync)["result"]["objects"]["created"] == RECORDS
    bulk_load = _snapshot(dcat, sync)
    with dcat.db.begin() as conn:  # back to an empty schema
        conn.exec_driver_sql(f"DELETE FROM objects WHERE schema_id = {_schema(dcat)['id']}")
        conn.exec_driver_sql("DELETE FROM synchronization_contracts")
    monkeypatch.setattr(bulk, "MIN_ROWS", 10 * RECORDS)  # never defer: every row maintains the indexes
    during: list[list[str]] = []
    log = service.synchronize(sync, progress=lambda _: during.append(_missing(dcat)))
    assert log["result"]["objects"]["created"] == RECORDS
    assert all(missing == [] for missing in during)
    assert _snapshot(dcat, sync) == bulk_load
    assert len(bulk_load[0]) == len(bulk_load[1]) == RECORDS


def test_a_small_run_keeps_the_indexes(dcat, fake_api):
    fake_api.set_records(600)  # fewer than bulk.MIN_ROWS
    during: list[list[str]] = []
    service = SynchronizationService(dcat)
    service.synchronize(_sync(dcat, fake_api), progress=lambda _: during.append(_missing(dcat)))
    assert during and all(missing == [] for missing in during)


def test_a_load_into_a_table_four_times_its_size_keeps_the_indexes(dcat, fake_api):
    """Building them after the load would read every other schema's rows too."""
    registers = RegisterService(dcat)
    registers.create_schema({"title": "Note", "properties": {"text": {"type": "string"}}}, register="dcat")
    objects = ObjectService(dcat)
    for start in range(0, 4 * RECORDS + 500, 2000):
        objects.save_objects([{"text": f"note {i}"} for i in range(start, start + 2000)], "dcat", "note")
    during: list[list[str]] = []
    log = SynchronizationService(dcat).synchronize(
        _sync(dcat, fake_api), progress=lambda _: during.append(_missing(dcat))
    )
    assert log["result"]["objects"]["created"] == RECORDS
    assert all(missing == [] for missing in during)


def test_a_failed_bulk_load_leaves_the_indexes_in_place(dcat, fake_api):
    sync = _sync(dcat, fake_api, "/paged/page?pageSize=500&failOn=4", concurrency=1)
    during: list[list[str]] = []
    log = SynchronizationService(dcat).synchronize(sync, progress=lambda _: during.append(_missing(dcat)))
    assert log["status"] == "error" and log["result"]["objects"]["created"] == 1500
    assert during[-1] != []  # the load had deferred them
    assert _missing(dcat) == []
    _plan_uses_indexes(dcat)
    assert log["result"]["objects"]["deleted"] == 0


def test_a_stopped_bulk_load_leaves_the_indexes_in_place(dcat, fake_api):
    sync = _sync(dcat, fake_api, concurrency=1)
    stop = threading.Event()
    during: list[list[str]] = []

    def progress(counts):
        during.append(_missing(dcat))
        if counts["pages"] == 3:
            stop.set()

    log = SynchronizationService(dcat).synchronize(sync, stop=stop, progress=progress)
    assert log["status"] == "interrupted"
    assert during[-1] != [] and _missing(dcat) == []
    _plan_uses_indexes(dcat)


RUNNER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from openconnector.connector.sync import SynchronizationService
    from openconnector.context import Context, set_context
    from openconnector.store.settings import Settings

    settings = Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2] or None,
                        secret_key="test-secret", admin_password="admin", scheduler=False)
    set_context(Context(settings))
    SynchronizationService().synchronize(sys.argv[3], progress=lambda c: print(c["pages"], flush=True))
    """
)


def _kill_mid_load(context, settings, fake_api) -> dict:
    """Start a load in another process, ``kill -9`` it once it deferred the indexes."""
    sync = _sync(context, fake_api, "/paged/next?style=next&size=250&delay=0.15", concurrency=1)
    process = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(settings.data_dir), settings.database_url or "", sync["id"]],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        for line in process.stdout:  # pages of 250: deferred from page 4 (1,000 created) on
            if int(line) >= 5:
                break
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert _missing(context), "the killed load had not deferred the indexes"
    return sync


def test_indexes_a_killed_load_left_dropped_are_built_when_the_service_starts(dcat, any_settings, fake_api):
    sync = _kill_mid_load(dcat, any_settings, fake_api)
    assert recover_dead_runs(dcat) == 1  # what the service, scheduler and workers call at start
    assert _missing(dcat) == []
    with dcat.db.connect() as conn:  # the killed run's log counts what its committed pages wrote
        status, result = conn.exec_driver_sql(
            f"SELECT status, result FROM synchronization_logs WHERE synchronization_id = '{sync['id']}'"
        ).one()
    result = orjson.loads(result) if isinstance(result, str) else result
    assert status == "interrupted"
    assert result["objects"]["created"] == ObjectService(dcat).count("dcat", "dataset") >= 1000
    _plan_uses_indexes(dcat)
    last = SynchronizationService(dcat).synchronize(sync)
    assert last["status"] == "success"
    assert ObjectService(dcat).count("dcat", "dataset") == RECORDS


def test_indexes_a_killed_load_left_dropped_are_built_before_the_next_run_writes(
    dcat, any_settings, fake_api
):
    sync = _kill_mid_load(dcat, any_settings, fake_api)
    during: list[list[str]] = []
    rerun = SynchronizationService(dcat).synchronize(
        sync, progress=lambda _: during.append(_missing(dcat)), wait=30
    )
    assert during[0] == []  # built before page 1 (written before the kill: no new objects)
    counts = rerun["result"]["objects"]
    assert counts["created"] + counts["skipped"] == RECORDS and counts["created"] < RECORDS
    assert _missing(dcat) == []
    _plan_uses_indexes(dcat)
    assert ObjectService(dcat).count("dcat", "dataset") == RECORDS


def test_a_failed_page_write_keeps_the_pages_before_it_and_nothing_after(dcat, fake_api, monkeypatch):
    """On PostgreSQL three pages are written at once; those after a failed write roll back,
    so the log counts exactly what committed, and a re-run completes without duplicates."""
    from openconnector.connector import sync as sync_module

    fake_api.set_records(45)
    sync = _sync(dcat, fake_api, "/paged/page?pageSize=5", concurrency=1)
    original = sync_module._PageWriter._write
    calls = {"n": 0}

    def failing_third(self, write, *args):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the disk is full")
        return original(self, write, *args)

    monkeypatch.setattr(sync_module._PageWriter, "_write", failing_third)
    log = SynchronizationService(dcat).synchronize(sync)
    assert log["status"] == "error" and "disk is full" in log["message"]
    assert log["result"]["objects"]["created"] == 10 == ObjectService(dcat).count("dcat", "dataset")
    monkeypatch.setattr(sync_module._PageWriter, "_write", original)
    again = SynchronizationService(dcat).synchronize(sync)["result"]["objects"]
    assert (again["created"], again["skipped"]) == (35, 10)
    titles = [o["title"] for o in ObjectService(dcat).find_all("dcat", "dataset", limit=100)["results"]]
    assert sorted(titles) == sorted(f"Record {i}" for i in range(1, 46))


@pytest.mark.parametrize("limit", [100_000, 12])
def test_a_first_run_that_skips_empty_contract_lookups_still_writes_a_repeated_record_once(
    dcat, fake_api, monkeypatch, limit
):
    """A first run looks contracts up only for records it has met (``contracts.FirstRun``);
    past its limit it looks every page up again."""
    from fake_api import make_record

    from openconnector.connector.contracts import FirstRun

    monkeypatch.setattr(FirstRun, "LIMIT", limit)
    records = [make_record(i) for i in range(1, 46)]
    fake_api.records = [*records, dict(records[2]), dict(records[20])]  # on pages 1 and 3 again at the end
    sync = _sync(dcat, fake_api, "/paged/next?style=next&size=10", concurrency=1)
    result = SynchronizationService(dcat).synchronize(sync)["result"]["objects"]
    assert (result["found"], result["created"], result["skipped"]) == (47, 45, 2)
    assert ObjectService(dcat).count("dcat", "dataset") == 45
    again = SynchronizationService(dcat).synchronize(sync)["result"]
    assert (again["objects"]["created"], again["objects"]["skipped"]) == (0, 47)
