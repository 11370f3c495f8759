"""The promises of a synchronisation run, each with a test that fails when it is broken.

docs/architecture.md and the run's own docstring promise: a run that did not see the
whole source deletes nothing (stopped by ``maxPages``, by a failing page, by a stop
request, by a crash); a record the source repeats is written once; test mode writes
nothing; an unchanged page is skipped only while its targets exist. Each test first
makes a state in which the broken behaviour would show (records that vanished and
would be deleted, a duplicate that would hit the unique index), then checks it does not.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fake_api import make_record  # tests/connector is on sys.path (tests/conftest.py)
from sqlalchemy import select

from openconnector import ObjectService, SynchronizationService
from openconnector.connector import sync as sync_module
from openconnector.store import tables as t


@pytest.fixture
def objects(any_context, make_dcat):  # type: ignore[no-untyped-def]
    """SQLite, then PostgreSQL: the tutorial's DCAT register and Dataset schema."""
    make_dcat(any_context, value={"type": "integer"})
    return ObjectService(any_context)


def _save(objects: ObjectService, schema: str, data: dict[str, Any]) -> dict[str, Any]:
    return objects.save_object(object=data, register="openconnector", schema=schema)


@pytest.fixture
def make_sync(objects, fake_api):  # type: ignore[no-untyped-def]
    source = _save(
        objects,
        "source",
        {"name": "Fake", "type": "api", "location": fake_api.url, "configuration": {"retries": 0}},
    )
    mapping = _save(objects, "mapping", {"name": "m", "mapping": {"title": "{{ name }}", "value": "value"}})

    def make(endpoint: str = "/paged/page?pageSize=10", **config: Any) -> dict[str, Any]:
        return _save(
            objects,
            "synchronization",
            {
                "name": f"sync {endpoint} {sorted(config)}",
                "sourceId": source["id"],
                "sourceTargetMapping": mapping["id"],
                "sourceConfig": {"endpoint": endpoint, **config},
                "targetId": "dcat/dataset",
            },
        )

    return make


def _service(objects: ObjectService) -> SynchronizationService:
    return SynchronizationService(objects.context)


def _count(objects: ObjectService) -> int:
    return objects.find_all("dcat", "dataset", limit=0)["total"]


def _synced_then_shrunk(objects: ObjectService, fake_api: Any, make_sync: Any, **config: Any) -> dict:
    """A synchronisation whose 45 records were all written, after which the source lost 20:
    a complete run now deletes 20 objects, an incomplete one must delete none."""
    sync = make_sync(**config)
    assert _service(objects).synchronize(sync)["result"]["objects"]["created"] == 45
    fake_api.set_records(25)
    return sync


# -- no deletes after an incomplete run -----------------------------------------------------------


def test_a_run_stopped_by_max_pages_deletes_nothing(objects, fake_api, make_sync):
    sync = _synced_then_shrunk(objects, fake_api, make_sync)
    capped = objects.save_object(
        {"sourceConfig": {"endpoint": "/paged/page?pageSize=10", "maxPages": 2}},
        "openconnector",
        "synchronization",
        uuid=sync["id"],
        patch=True,
    )
    log = _service(objects).synchronize(capped)
    result = log["result"]
    assert log["status"] == "success"
    assert result["pages"] == 2 and result["stopReason"].startswith("maxPages")
    assert result["complete"] is False
    assert result["objects"]["deleted"] == 0
    assert "nothing was deleted" in log["message"]
    assert _count(objects) == 45
    # A complete run afterwards does delete what vanished: the cap was the only reason not to.
    uncapped = objects.save_object(
        {"sourceConfig": {"endpoint": "/paged/page?pageSize=10"}},
        "openconnector",
        "synchronization",
        uuid=sync["id"],
        patch=True,
    )
    assert _service(objects).synchronize(uncapped)["result"]["objects"]["deleted"] == 20
    assert _count(objects) == 25


def test_a_test_run_stopped_by_max_pages_reports_no_deletes(objects, fake_api, make_sync):
    sync = _synced_then_shrunk(objects, fake_api, make_sync)
    capped = objects.save_object(
        {"sourceConfig": {"endpoint": "/paged/page?pageSize=10", "maxPages": 1}},
        "openconnector",
        "synchronization",
        uuid=sync["id"],
        patch=True,
    )
    dry = _service(objects).synchronize(capped, test=True)["result"]
    assert (dry["complete"], dry["objects"]["deleted"]) == (False, 0)


def test_a_failing_page_deletes_nothing(objects, fake_api, make_sync):
    sync = _synced_then_shrunk(objects, fake_api, make_sync)
    failing = objects.save_object(
        {"sourceConfig": {"endpoint": "/paged/page?pageSize=10&failOn=2"}},
        "openconnector",
        "synchronization",
        uuid=sync["id"],
        patch=True,
    )
    log = _service(objects).synchronize(failing)
    assert log["status"] == "error" and log["result"]["objects"]["deleted"] == 0
    assert _count(objects) == 45


def test_a_stop_request_ends_the_run_after_its_page_and_deletes_nothing(objects, fake_api, make_sync):
    sync = _synced_then_shrunk(objects, fake_api, make_sync)
    fake_api.records[0]["name"] = "Renamed"  # page 1 changes, so the stopped run has work to keep
    stop = threading.Event()
    log = _service(objects).synchronize(sync, stop=stop, progress=lambda _: stop.set())
    result = log["result"]
    assert log["status"] == "interrupted"
    assert result["stopReason"] == "stopped" and result["complete"] is False
    assert result["pages"] == 1 and result["objects"]["updated"] == 1  # the page in progress was kept
    assert result["objects"]["deleted"] == 0
    assert _count(objects) == 45


@pytest.mark.parametrize("where", ["mapping a page", "writing a page"])
def test_a_crash_in_the_middle_of_a_run_deletes_nothing(objects, fake_api, make_sync, monkeypatch, where):
    sync = _synced_then_shrunk(objects, fake_api, make_sync, endpoint="/paged/page?pageSize=5")
    for record in fake_api.records:
        record["name"] += " (new)"  # every page changes, so every page is mapped and written
    calls = {"n": 0}
    if where == "mapping a page":
        original = sync_module.SynchronizationService._page

        def crashing(self, *args):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("a bug")
            return original(self, *args)

        monkeypatch.setattr(sync_module.SynchronizationService, "_page", crashing)
    else:
        original_write = sync_module._PageWriter._write

        def crashing_write(self, write, *args):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("the disk is full")
            return original_write(self, write, *args)

        monkeypatch.setattr(sync_module._PageWriter, "_write", crashing_write)
    log = _service(objects).synchronize(sync)
    assert log["status"] == "error" and "RuntimeError" in log["message"]
    assert log["result"]["objects"]["deleted"] == 0
    assert _count(objects) == 45
    titles = [o["title"] for o in objects.find_all("dcat", "dataset", limit=100)["results"]]
    assert sum(title.endswith("(new)") for title in titles) >= 5  # pages before the crash were kept


def test_a_crash_while_deleting_vanished_records_deletes_nothing(objects, fake_api, make_sync, monkeypatch):
    """Objects and their contracts go in one transaction: a crash between them keeps both."""
    sync = _synced_then_shrunk(objects, fake_api, make_sync)

    def crashing_remove(self, conn, contract_ids):  # type: ignore[no-untyped-def]
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(sync_module.ContractStore, "remove", crashing_remove)
    log = _service(objects).synchronize(sync)
    assert log["status"] == "error" and "the disk is full" in log["message"]
    assert _count(objects) == 45
    monkeypatch.undo()
    assert _service(objects).synchronize(sync)["result"]["objects"]["deleted"] == 20
    assert _count(objects) == 25


# -- a repeated record is written once -----------------------------------------------------------


def test_a_record_twice_on_one_page_is_written_once(objects, fake_api, make_sync):
    records = [make_record(i) for i in range(1, 46)]
    # records 3 and 4 twice on page 1
    fake_api.records = records[:5] + [dict(records[2]), dict(records[3])] + records[5:]
    sync = make_sync()
    log = _service(objects).synchronize(sync)
    result = log["result"]["objects"]
    assert log["status"] == "success", log["message"]
    assert (result["found"], result["created"], result["skipped"], result["invalid"]) == (47, 45, 2, 0)
    assert _count(objects) == 45
    again = _service(objects).synchronize(sync)["result"]["objects"]
    assert (again["found"], again["created"], again["skipped"]) == (47, 0, 47)


def test_a_record_on_the_first_and_the_last_page_is_written_once(objects, fake_api, make_sync):
    records = [make_record(i) for i in range(1, 46)]
    fake_api.records = records + [dict(records[0])]  # record 1 on page 1 and again on page 5
    log = _service(objects).synchronize(make_sync())
    result = log["result"]["objects"]
    assert log["status"] == "success", log["message"]
    assert (result["found"], result["created"], result["skipped"]) == (46, 45, 1)
    assert _count(objects) == 45
    with objects.context.db.connect() as conn:
        assert len(conn.execute(select(t.contracts.c.id)).all()) == 45


def test_a_record_id_becomes_its_origin_id_as_text_and_an_unusable_id_makes_it_invalid(
    objects, fake_api, make_sync
):
    """Ids as sources send them: numbers and text are kept (7.0 is the same record as 7);
    an empty, structured or boolean id names no record."""
    ids: list[Any] = ["x-1", 7.0, 2.5, 0, "", [1], {"a": 1}, True, None]
    fake_api.records = [{"id": i, "name": f"Record {n}", "value": n} for n, i in enumerate(ids)]
    fake_api.records.insert(1, "just text")  # not a record at all
    log = _service(objects).synchronize(make_sync())
    result = log["result"]
    assert (result["objects"]["created"], result["objects"]["invalid"]) == (4, 6)
    reasons = [r["reason"] for r in result["invalid"]]
    assert reasons[0] == "The record is not an object but str"
    assert all("idPosition" in r for r in reasons[1:])
    assert all(r["originId"] is None for r in result["invalid"])
    with objects.context.db.connect() as conn:
        origins = sorted(r.origin_id for r in conn.execute(select(t.contracts.c.origin_id)))
    assert origins == ["0", "2.5", "7", "x-1"]


def test_a_run_fails_only_when_every_record_it_found_was_invalid(objects, fake_api, make_sync):
    """docs: all records invalid is a failure; some invalid is a warning, whatever else the run
    did (created, updated or skipped the rest); no records at all is no failure."""

    def run(*records: dict[str, Any]) -> tuple[str, tuple[int, ...]]:
        fake_api.records = list(records)
        log = _service(objects).synchronize(sync)
        o = log["result"]["objects"]
        return log["status"], (o["created"], o["updated"], o["skipped"], o["invalid"], o["deleted"])

    a, b, c = make_record(1), make_record(2), make_record(3)
    bad = {"id": 9, "name": "Bad", "value": "not a number"}
    sync = make_sync()
    assert run() == ("success", (0, 0, 0, 0, 0))
    assert run(a, b) == ("success", (2, 0, 0, 0, 0))
    assert run(dict(a, name="A2"), b, bad) == ("warning", (0, 1, 1, 1, 0))
    assert run(dict(a, name="A3"), c, bad) == ("warning", (1, 1, 0, 1, 1))
    assert run(bad) == ("error", (0, 0, 0, 1, 0))
    assert _count(objects) == 2


# -- test mode writes nothing ----------------------------------------------------------------------


def _snapshot(objects: ObjectService) -> tuple[list, list]:
    with objects.context.db.connect() as conn:
        rows = sorted(tuple(r) for r in conn.execute(select(t.objects)).all())
        contracts = sorted(tuple(r) for r in conn.execute(select(t.contracts)).all())
    return rows, contracts


def test_test_mode_writes_no_object_and_no_contract(objects, fake_api, make_sync):
    sync = make_sync()
    before = _snapshot(objects)
    dry = _service(objects).synchronize(sync, test=True)["result"]["objects"]
    assert dry["created"] == 45
    assert _snapshot(objects) == before
    _service(objects).synchronize(sync)
    fake_api.set_records(40)
    fake_api.records[0]["name"] = "Renamed"
    written = _snapshot(objects)
    dry = _service(objects).synchronize(sync, test=True)["result"]["objects"]
    assert (dry["updated"], dry["deleted"], dry["skipped"]) == (1, 5, 39)
    assert _snapshot(objects) == written  # not even a contract's "last checked" moved


# -- unchanged pages are skipped only while their targets exist -------------------------------------


def test_an_unchanged_page_whose_targets_were_deleted_by_hand_is_written_again(objects, fake_api, make_sync):
    sync = make_sync()
    _service(objects).synchronize(sync)
    page_one = objects.find_all("dcat", "dataset", limit=100)["results"]
    for obj in page_one:
        if obj["title"] in {"Record 1", "Record 2", "Record 3"}:
            objects.delete_object(obj["id"])
    assert _count(objects) == 42
    again = _service(objects).synchronize(sync)["result"]
    assert again["unchangedPages"] == 4
    assert (again["objects"]["created"], again["objects"]["skipped"]) == (3, 42)
    assert _count(objects) == 45
    assert _service(objects).synchronize(sync)["result"]["unchangedPages"] == 5


def test_a_changed_record_is_updated_once_and_then_skipped_as_unchanged(objects, fake_api, make_sync):
    """The update of a changed record also updates its contract (the record's new hash):
    the next run finds it unchanged instead of updating it again. Another synchronisation
    ran first, so contract ids and the source's record ids differ."""
    _service(objects).synchronize(make_sync(endpoint="/paged/page?pageSize=10&for=other"))
    sync = make_sync()
    _service(objects).synchronize(sync)
    fake_api.records[12]["name"] = "Renamed"  # record 13, on page 2
    changed = _service(objects).synchronize(sync)["result"]
    assert (changed["objects"]["updated"], changed["objects"]["skipped"], changed["unchangedPages"]) == (
        1,
        44,
        4,
    )
    again = _service(objects).synchronize(sync)["result"]
    assert (again["objects"]["updated"], again["objects"]["skipped"], again["unchangedPages"]) == (0, 45, 5)
    assert "Renamed" in [o["title"] for o in objects.find_all("dcat", "dataset", limit=100)["results"]]


def test_a_changed_schema_makes_unchanged_pages_be_checked_again(objects, fake_api, make_sync):
    sync = make_sync()
    _service(objects).synchronize(sync)
    objects.registers.update_schema(
        "dataset", {"properties": {"title": {"type": "string", "maxLength": 8}, "value": {"type": "integer"}}}
    )
    again = _service(objects).synchronize(sync)["result"]
    assert again["unchangedPages"] == 0
    assert again["objects"]["invalid"] == 36  # "Record 10" .. "Record 45" are now too long


def test_a_complete_run_deletes_and_counts_every_vanished_record_across_batches(objects, fake_api, make_sync):
    """Vanished records are deleted 1,000 at a time; the run's count adds up every batch."""
    fake_api.set_records(1_205)
    sync = make_sync(endpoint="/paged/page?pageSize=500")
    assert _service(objects).synchronize(sync)["result"]["objects"]["created"] == 1_205
    fake_api.set_records(3)
    log = _service(objects).synchronize(sync)
    assert (log["status"], log["result"]["objects"]["deleted"]) == ("success", 1_202)
    assert _count(objects) == 3


def test_a_run_counts_every_invalid_record_and_reports_the_first_hundred(objects, fake_api, make_sync):
    objects.registers.update_schema(
        "dataset", {"properties": {"title": {"type": "string", "maxLength": 3}, "value": {"type": "integer"}}}
    )
    fake_api.set_records(101)
    log = _service(objects).synchronize(make_sync(endpoint="/paged/page?pageSize=50"))
    assert log["status"] == "error" and log["result"]["objects"]["invalid"] == 101
    reasons = log["result"]["invalid"]
    assert len(reasons) == 100 and reasons[0]["originId"] == "1" and reasons[-1]["originId"] == "100"


def test_a_test_run_counts_as_deletes_exactly_its_own_vanished_records(objects, fake_api, make_sync):
    """The first record gone (the oldest contract) counts; another synchronisation's contracts,
    whose records this run never sees, do not."""
    other = make_sync(endpoint="/paged/page?pageSize=10&for=other")  # the same records, another name
    sync = make_sync()
    _service(objects).synchronize(sync)
    fake_api.set_records(20)
    _service(objects).synchronize(other)  # 20 contracts of another synchronisation
    fake_api.set_records(45)
    del fake_api.records[0]  # record 1, the first contract written
    dry = _service(objects).synchronize(sync, test=True)["result"]["objects"]
    assert (dry["found"], dry["deleted"], dry["skipped"]) == (44, 1, 44)
