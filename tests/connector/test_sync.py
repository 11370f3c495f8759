"""Synchronisations against real local servers: the tutorial's flow in Python, and faults.

Every fault ends with a clear log, no duplicates, no lost records and no deletes
after an incomplete run.
"""

from __future__ import annotations

import threading
import time

import pytest
from fake_api import make_record  # tests/connector is on sys.path (tests/conftest.py)

from openconnector import CallService, MappingService, ObjectService, SynchronizationService
from openconnector.connector.logs import LogService
from openconnector.errors import Conflict

PETS = "/pet/findByStatus?status=available"


@pytest.fixture
def dcat(context, make_dcat):
    return make_dcat(context, value={"type": "integer"})


@pytest.fixture
def objects(dcat):
    return ObjectService(dcat)


def _save(objects, schema, data):
    return objects.save_object(object=data, register="openconnector", schema=schema)


def _sync(objects, source, endpoint, mapping=None, **config):
    return _save(
        objects,
        "synchronization",
        {
            "name": f"sync {endpoint}",
            "sourceId": source["id"],
            "sourceType": "api",
            "sourceTargetMapping": mapping["id"] if mapping else None,
            "sourceConfig": {"endpoint": endpoint, **config},
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
    )


@pytest.fixture
def source(objects, fake_api):
    return _save(
        objects,
        "source",
        {
            "name": "Fake",
            "type": "api",
            "location": fake_api.url,
            "auth": "none",
            "isEnabled": True,
            "configuration": {"retries": 1, "backoff": 0.05},
        },
    )


@pytest.fixture
def record_mapping(objects):
    return _save(
        objects,
        "mapping",
        {"name": "Record to dataset", "mapping": {"title": "{{ name }}", "value": "value"}},
    )


def _count(objects):
    return objects.find_all("dcat", "dataset", limit=0)["total"]


def _titles(objects):
    return sorted(o["title"] for o in objects.find_all("dcat", "dataset", limit=1000)["results"])


def test_the_tutorial_flow_in_python_as_the_php_tab_does_it(objects, fake_api):
    source = _save(
        objects,
        "source",
        {
            "name": "Swagger Pet Store",
            "type": "api",
            "location": fake_api.url + "/api/v3",
            "auth": "none",
            "isEnabled": True,
        },
    )
    response = CallService().call(source, PETS)
    assert response.status_code == 200 and len(response.json()) == 8

    mapping = _save(
        objects,
        "mapping",
        {
            "name": "Pet to dataset",
            "mapping": {
                "title": "{{ name }}",
                "category": "{{ category.name }}",
                "status": "Published",
                "publicatiedatum": '{{ "now"|date("Y-m-d H:i:s") }}',
            },
        },
    )
    result = MappingService().execute_mapping(mapping, {"name": "Bella", "category": {"name": "Dogs"}})
    assert result["title"] == "Bella" and result["category"] == "Dogs"

    sync = _save(
        objects,
        "synchronization",
        {
            "name": "Pet store to datasets",
            "sourceId": source["id"],
            "sourceType": "api",
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": PETS, "idPosition": "id", "resultsPosition": "_root"},
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
    )
    log = SynchronizationService().synchronize(sync)
    assert {k: log["result"]["objects"][k] for k in ("found", "created")} == {"found": 8, "created": 8}
    datasets = objects.find_all("dcat", "dataset", filters={"category": "Dogs"})
    assert datasets["total"] == 4
    assert all(d["publicatiedatum"].endswith("+00:00") for d in datasets["results"])


def test_rerun_skips_unchanged_records_and_force_rewrites_them(objects, source, record_mapping):
    sync = _sync(objects, source, "/paged/next?style=next&size=10", record_mapping)
    service = SynchronizationService()
    first = service.synchronize(sync)["result"]
    assert first["objects"]["created"] == 45 and first["pages"] == 5 and first["complete"]
    second = service.synchronize(sync)["result"]["objects"]
    assert (second["found"], second["skipped"], second["created"], second["updated"]) == (45, 45, 0, 0)
    forced = service.synchronize(sync, force=True)["result"]["objects"]
    assert (forced["updated"], forced["created"]) == (45, 0)
    assert _count(objects) == 45


def test_a_changed_mapping_updates_every_record(objects, source, record_mapping):
    sync = _sync(objects, source, "/paged/next?style=next&size=10", record_mapping)
    SynchronizationService().synchronize(sync)
    objects.save_object(
        {"mapping": {"title": "Item {{ name }}", "value": "value"}},
        "openconnector",
        "mapping",
        uuid=record_mapping["id"],
        patch=True,
    )
    log = SynchronizationService().synchronize(sync)["result"]["objects"]
    assert log["updated"] == 45
    assert _titles(objects)[0].startswith("Item ")


def test_a_500_on_page_3_keeps_earlier_pages_and_deletes_nothing(objects, source, record_mapping, fake_api):
    complete = _sync(objects, source, "/paged/page?pageSize=10", record_mapping)
    assert SynchronizationService().synchronize(complete)["result"]["objects"]["created"] == 45
    fake_api.set_records(25)  # 20 records vanished, but the next run will not get to see that
    failing = objects.save_object(
        {"sourceConfig": {"endpoint": "/paged/page?pageSize=10&failOn=3"}},
        "openconnector",
        "synchronization",
        uuid=complete["id"],
        patch=True,
    )
    log = SynchronizationService().synchronize(failing)
    assert log["status"] == "error"
    assert "500" in log["message"] and "page 3" in log["message"]
    assert log["result"]["objects"]["deleted"] == 0 and log["result"]["pages"] == 2
    assert _count(objects) == 45


def test_every_page_call_of_a_run_is_logged_the_failing_one_too(objects, source, record_mapping, fake_api):
    """A run holds its call logs while pages are fetched in the background and stores
    them as it writes: when the run ends, each is in the log, whether it ended well or not
    (pages requested ahead of a failing one included)."""
    logs = LogService(objects.context)
    ok = _sync(objects, source, "/paged/page?pageSize=10", record_mapping)
    SynchronizationService().synchronize(ok)
    statuses = [r["statusCode"] for r in logs.call_logs([("_limit", "100")])["results"]]
    assert statuses == [200] * 6  # 45 records in pages of 10, then the empty page that ends it
    failing = _sync(objects, source, "/paged/page?pageSize=10&failOn=3", record_mapping)
    assert SynchronizationService().synchronize(failing)["status"] == "error"
    urls = [
        (r["statusCode"], r["request"]["url"])
        for r in logs.call_logs([("_limit", "100")])["results"]
        if "failOn" in r["request"]["url"]
    ]
    codes = sorted(code for code, _ in urls)
    assert codes.count(500) == 2 and codes.count(200) >= 2  # page 3 tried twice (retries: 1)
    assert len(urls) == sum(1 for r in fake_api.requests if r.query.get("failOn"))


def test_a_timeout_ends_the_run_with_a_clear_message(objects, fake_api):
    slow_source = _save(
        objects,
        "source",
        {
            "name": "Slow",
            "type": "api",
            "location": fake_api.url,
            "configuration": {"timeout": 0.3, "retries": 0},
        },
    )
    log = SynchronizationService().synchronize(_sync(objects, slow_source, "/faults/slow?seconds=2"))
    assert log["status"] == "error" and "tim" in log["message"].lower()
    assert _count(objects) == 0


def test_invalid_json_ends_the_run_with_a_clear_message(objects, source):
    log = SynchronizationService().synchronize(_sync(objects, source, "/faults/invalid-json"))
    assert log["status"] == "error" and "JSON" in log["message"]
    assert _count(objects) == 0


def test_a_429_with_retry_after_is_waited_out(objects, fake_api, record_mapping):
    patient = _save(
        objects,
        "source",
        {"name": "Patient", "type": "api", "location": fake_api.url, "configuration": {"retries": 2}},
    )
    sync = _sync(
        objects,
        patient,
        "/faults/retry-after?times=1&seconds=1",
        record_mapping,
        resultsPosition="results",
        usesPagination=False,
    )
    started = time.monotonic()
    log = SynchronizationService().synchronize(sync)
    assert log["status"] == "success", log["message"]
    assert time.monotonic() - started >= 0.9
    assert fake_api.hits("/faults/retry-after") == 2


def test_a_source_that_repeats_the_same_page_forever_stops(objects, source, record_mapping):
    log = SynchronizationService().synchronize(_sync(objects, source, "/faults/repeat", record_mapping))
    result = log["result"]
    assert log["status"] == "success"
    assert result["objects"]["created"] == 10 and "repeat" in (result["stopReason"] or "")
    assert _count(objects) == 10


def test_a_record_without_an_id_is_invalid_and_the_rest_is_written(objects, source, fake_api):
    fake_api.pets.append({"name": "Ghost", "status": "available", "category": {"name": "Dogs"}})
    mapping = _save(objects, "mapping", {"name": "m", "mapping": {"title": "{{ name }}"}})
    log = SynchronizationService().synchronize(
        _sync(objects, source, "/api/v3" + PETS, mapping, resultsPosition="_root")
    )
    objects_ = log["result"]["objects"]
    assert (objects_["found"], objects_["created"], objects_["invalid"]) == (9, 8, 1)
    assert "idPosition" in log["result"]["invalid"][0]["reason"]


def test_a_record_that_fails_the_schema_is_invalid_with_its_reason(objects, source, fake_api):
    fake_api.rename_pet(3, "")
    mapping = _save(objects, "mapping", {"name": "m", "mapping": {"title": "{{ name }}"}})
    sync = _sync(objects, source, "/api/v3" + PETS, mapping, resultsPosition="_root")
    result = SynchronizationService().synchronize(sync)["result"]
    assert (result["objects"]["created"], result["objects"]["invalid"]) == (7, 1)
    assert result["invalid"][0]["originId"] == "3" and "title" in result["invalid"][0]["reason"]
    assert [e["property"] for e in result["invalid"][0]["errors"]] == ["title"]  # the validator's own errors
    fake_api.rename_pet(3, "Luna again")
    fixed = SynchronizationService().synchronize(sync)["result"]["objects"]
    assert (fixed["created"], fixed["skipped"]) == (1, 7)
    assert _count(objects) == 8


def test_test_mode_writes_nothing_and_reports_what_a_run_would_do(objects, source, record_mapping, fake_api):
    sync = _sync(objects, source, "/paged/next?style=next&size=10", record_mapping)
    dry = SynchronizationService().synchronize(sync, test=True)["result"]["objects"]
    assert dry["created"] == 45 and _count(objects) == 0
    SynchronizationService().synchronize(sync)
    fake_api.set_records(40)
    dry_again = SynchronizationService().synchronize(sync, test=True)["result"]["objects"]
    assert (dry_again["skipped"], dry_again["deleted"]) == (40, 5)
    assert _count(objects) == 45


def test_nothing_found_says_where_it_looked(objects, source):
    log = SynchronizationService().synchronize(
        _sync(objects, source, "/paged/next?style=next", resultsPosition="data.items", usesPagination=False)
    )
    assert log["result"]["objects"]["found"] == 0
    assert "data.items" in log["message"] and "results" in log["message"]


def test_two_runs_of_one_synchronisation_never_overlap(objects, fake_api, record_mapping):
    slow = _save(objects, "source", {"name": "Slow", "type": "api", "location": fake_api.url})
    sync = _sync(
        objects,
        slow,
        "/faults/slow?seconds=3",
        record_mapping,
        usesPagination=False,
        resultsPosition="results",
    )
    results = {}

    def first() -> None:
        results["first"] = SynchronizationService().synchronize(sync)

    thread = threading.Thread(target=first)
    thread.start()
    deadline = time.monotonic() + 30  # the first run holds its lock once it is asking the source
    while not fake_api.hits("/faults/slow") and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(Conflict, match="already running"):
        SynchronizationService().synchronize(sync)
    thread.join()
    assert results["first"]["status"] == "success"
    assert SynchronizationService().synchronize(sync)["result"]["objects"]["skipped"] == 1


def test_conditions_filter_records(objects, source, record_mapping):
    sync = objects.save_object(
        {
            **_sync(objects, source, "/paged/next?style=next&size=50", record_mapping),
            "conditions": {"<=": [{"var": "id"}, 10]},
        },
        "openconnector",
        "synchronization",
    )
    log = SynchronizationService().synchronize(sync)["result"]["objects"]
    assert (log["found"], log["created"], log["skipped"]) == (45, 10, 35)


def test_create_skip_update_delete_on_sqlite_and_postgresql(any_context, fake_api, make_dcat):
    make_dcat(any_context)
    objects = ObjectService(any_context)
    source = _save(objects, "source", {"name": "Fake", "type": "api", "location": fake_api.url})
    mapping = _save(objects, "mapping", {"name": "m", "mapping": {"title": "{{ name }}"}})
    sync = _sync(objects, source, "/paged/next?style=next&size=10", mapping)
    service = SynchronizationService(any_context)
    assert service.synchronize(sync)["result"]["objects"]["created"] == 45
    assert service.synchronize(sync)["result"]["objects"]["skipped"] == 45
    fake_api.records[0]["name"] = "Renamed"
    fake_api.records.pop()
    log = service.synchronize(sync)["result"]["objects"]
    assert (log["updated"], log["deleted"], log["skipped"]) == (1, 1, 43)
    assert _count(objects) == 44


# -- unchanged pages are skipped whole, and only when that is safe ---------------------------------


def test_an_unchanged_rerun_skips_whole_pages(objects, source, record_mapping):
    sync = _sync(objects, source, "/paged/next?style=next&size=10", record_mapping)
    service = SynchronizationService()
    assert service.synchronize(sync)["result"]["unchangedPages"] == 0
    again = service.synchronize(sync)["result"]
    assert again["unchangedPages"] == 5
    assert (again["objects"]["found"], again["objects"]["skipped"]) == (45, 45)


def test_a_target_deleted_by_hand_is_made_again_though_its_page_is_unchanged(
    any_context, fake_api, make_dcat
):
    make_dcat(any_context, value={"type": "integer"})
    objects = ObjectService(any_context)
    source = _save(objects, "source", {"name": "Fake", "type": "api", "location": fake_api.url})
    mapping = _save(objects, "mapping", {"name": "m", "mapping": {"title": "{{ name }}", "value": "value"}})
    sync = _sync(objects, source, "/paged/next?style=next&size=10", mapping)
    service = SynchronizationService(any_context)
    service.synchronize(sync)
    victim = objects.find_all("dcat", "dataset", limit=1)["results"][0]
    objects.delete_object(victim["id"])
    again = service.synchronize(sync)["result"]
    assert (again["objects"]["created"], again["objects"]["skipped"]) == (1, 44)
    assert again["unchangedPages"] == 4
    assert _count(objects) == 45


def test_a_record_that_stays_invalid_is_reported_on_every_run(objects, source, fake_api):
    fake_api.rename_pet(3, "")
    mapping = _save(objects, "mapping", {"name": "m", "mapping": {"title": "{{ name }}"}})
    sync = _sync(objects, source, "/api/v3" + PETS, mapping, resultsPosition="_root")
    service = SynchronizationService()
    for _ in range(2):
        result = service.synchronize(sync)["result"]
        assert result["objects"]["invalid"] == 1 and result["invalid"][0]["originId"] == "3"
        assert result["unchangedPages"] == 0
    assert _count(objects) == 7


def test_records_gone_from_the_end_are_deleted_while_unchanged_pages_are_skipped(
    objects, source, record_mapping, fake_api
):
    sync = _sync(objects, source, "/paged/next?style=next&size=10", record_mapping)
    service = SynchronizationService()
    service.synchronize(sync)
    fake_api.set_records(40)  # the fifth page (41..45) is gone; pages 1..4 are as they were
    result = service.synchronize(sync)["result"]
    assert result["unchangedPages"] == 4
    assert (result["objects"]["skipped"], result["objects"]["deleted"]) == (40, 5)
    fake_api.set_records(38)  # page 4 now holds 31..38: compared record by record
    result = service.synchronize(sync)["result"]
    assert result["unchangedPages"] == 3
    assert (result["objects"]["skipped"], result["objects"]["deleted"]) == (38, 2)
    assert _count(objects) == 38
    assert len(set(_titles(objects))) == 38  # no duplicates crept in


def test_a_record_on_two_consecutive_pages_becomes_one_object(
    objects, source, record_mapping, fake_api, monkeypatch
):
    # Page 1 is still being written (a slow disk) while page 2, which repeats record 10, is mapped.
    from openconnector.connector import sync as sync_module

    write = sync_module._PageWriter._write

    def slow_write(self, page_write, *args):
        time.sleep(0.3)
        write(self, page_write, *args)

    monkeypatch.setattr(sync_module._PageWriter, "_write", slow_write)
    records = [make_record(i) for i in range(1, 30)]
    fake_api.records = records[:10] + [records[9]] + records[10:]
    sync = _sync(objects, source, "/paged/next?style=next&size=10", record_mapping)
    result = SynchronizationService().synchronize(sync)["result"]["objects"]
    assert (result["found"], result["created"], result["skipped"]) == (30, 29, 1)
    assert _count(objects) == 29
    assert len(set(_titles(objects))) == 29


def test_held_call_logs_are_written_before_they_pile_up(objects, source, record_mapping, monkeypatch):
    """An unchanged re-run skips every page and writes nothing else, so the call logs it
    holds are written as they pass ``MAX_HELD``, not kept until the run ends."""
    from openconnector.connector.logs import CallLogWriter

    monkeypatch.setattr(CallLogWriter, "MAX_HELD", 2)
    logs = LogService(objects.context)
    sync = _sync(objects, source, "/paged/next?style=next&size=10", record_mapping)
    SynchronizationService().synchronize(sync)
    before = logs.call_logs([("_limit", "1")])["total"]
    stored_during_run = []
    service = SynchronizationService()

    def progress(_counts):
        stored_during_run.append(logs.call_logs([("_limit", "1")])["total"] - before)

    result = service.synchronize(sync, progress=progress)["result"]
    assert result["unchangedPages"] == 5  # nothing written but the logs
    assert max(stored_during_run) >= 3  # written while the run went on
    assert logs.call_logs([("_limit", "1")])["total"] - before == 5  # and none lost at the end
