"""Pages fetched at once give exactly what a sequential run gives.

Each scenario runs one synchronisation with ``sourceConfig.concurrency: 1`` into
``dcat/dataset`` and its twin with ``concurrency: 8`` into ``dcat/copy``, against the
fake API serving pages with a delay (so pages really overlap), and compares the run
logs' counts, the objects written and the contracts kept.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from openconnector import ObjectService, SynchronizationService
from openconnector.connector.call import CallService
from openconnector.register.registers import RegisterService
from openconnector.store import tables as t

DELAY = "0.02"


def _objects(context, make_dcat) -> ObjectService:
    make_dcat(context, value={"type": "integer"})
    RegisterService(context).create_schema(
        {
            "title": "Copy",
            "slug": "copy",
            "required": ["title"],
            "properties": {"title": {"type": "string"}, "value": {"type": "integer"}},
        },
        register="dcat",
    )
    return ObjectService(context)


@pytest.fixture
def objects(context, make_dcat):
    return _objects(context, make_dcat)


@pytest.fixture
def any_objects(any_context, make_dcat):
    """The same on SQLite, then on PostgreSQL."""
    return _objects(any_context, make_dcat)


def _save(objects, schema, data):
    return objects.save_object(object=data, register="openconnector", schema=schema)


@pytest.fixture
def twins(objects, fake_api):
    """``twins(endpoint, **config)``: a sequential and a concurrent synchronisation of one endpoint."""
    return _twins(objects, fake_api)


@pytest.fixture
def any_twins(any_objects, fake_api):
    return _twins(any_objects, fake_api)


def _twins(objects, fake_api):
    source = _save(
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
    mapping = _save(
        objects, "mapping", {"name": "Record", "mapping": {"title": "{{ name }}", "value": "value"}}
    )

    def make(endpoint: str, **config: Any) -> tuple[dict, dict]:
        made = []
        for schema, concurrency in (("dataset", 1), ("copy", 8)):
            made.append(
                _save(
                    objects,
                    "synchronization",
                    {
                        "name": f"{schema} {endpoint}",
                        "sourceId": source["id"],
                        "sourceTargetMapping": mapping["id"],
                        "sourceConfig": {
                            "endpoint": endpoint,
                            "concurrency": concurrency,
                            "maxPages": 500,
                            **config,
                        },
                        "targetType": "register/schema",
                        "targetId": f"dcat/{schema}",
                    },
                )
            )
        return made[0], made[1]

    return make


def _endpoint(objects, sync: dict, endpoint: str) -> dict:
    config = dict(sync["sourceConfig"], endpoint=endpoint)
    return objects.save_object(
        {"sourceConfig": config}, "openconnector", "synchronization", uuid=sync["id"], patch=True
    )


def _comparable(log: dict) -> dict:
    result = log["result"]
    return {
        "status": log["status"],
        "objects": result["objects"],
        "pages": result["pages"],
        "unchangedPages": result["unchangedPages"],
        "stopReason": result["stopReason"],
        "complete": result["complete"],
        "invalid": result["invalid"],
    }


def _state(objects, sync: dict, schema: str) -> dict:
    """The objects of a schema and the synchronisation's contracts, independent of uuids."""
    found = objects.find_all("dcat", schema, limit=100_000)["results"]
    by_uuid = {o["id"]: (o["title"], o["value"]) for o in found}
    with objects.context.db.connect() as conn:
        rows = conn.execute(
            select(
                t.contracts.c.origin_id,
                t.contracts.c.origin_hash,
                t.contracts.c.target_id,
                t.contracts.c.page_hash,
            ).where(t.contracts.c.synchronization_id == sync["id"])
        ).all()
    return {
        "objects": sorted(by_uuid.values()),
        "contracts": sorted((r.origin_id, r.origin_hash, by_uuid.get(r.target_id)) for r in rows),
        "contracts on a page": sum(1 for r in rows if r.page_hash),
    }


def _run_both(objects, sequential: dict, concurrent: dict, fake_api) -> tuple[dict, dict]:
    fake_api.max_in_flight = 0
    one = SynchronizationService().synchronize(sequential)
    assert fake_api.max_in_flight == 1
    fake_api.max_in_flight = 0
    other = SynchronizationService().synchronize(concurrent)
    assert _comparable(other) == _comparable(one)
    assert _state(objects, concurrent, "copy") == _state(objects, sequential, "dataset")
    return one, other


def test_a_concurrent_run_writes_exactly_what_a_sequential_one_does(objects, twins, fake_api):
    fake_api.set_records(1000)
    sequential, concurrent = twins(f"/paged/page?pageSize=10&delay={DELAY}")

    one, _ = _run_both(objects, sequential, concurrent, fake_api)
    assert one["result"]["objects"]["created"] == 1000 and one["result"]["pages"] == 100
    assert fake_api.max_in_flight >= 2  # the pages did overlap

    # unchanged: every page skipped whole, in both
    one, _ = _run_both(objects, sequential, concurrent, fake_api)
    assert one["result"]["unchangedPages"] == 100

    # changed, and the last 95 records gone: updates and deletes alike
    fake_api.set_records(905)
    for record in fake_api.records[::7]:
        record["name"] += " (renamed)"
    one, _ = _run_both(objects, sequential, concurrent, fake_api)
    assert one["result"]["objects"]["deleted"] == 95 and one["result"]["objects"]["updated"] == 130


def test_without_a_total_the_concurrent_run_finds_the_end_the_same_way(objects, twins, fake_api):
    fake_api.set_records(333)
    sequential, concurrent = twins(f"/paged/page?pageSize=10&noTotal=1&delay={DELAY}")

    one, _ = _run_both(objects, sequential, concurrent, fake_api)
    assert one["result"]["objects"]["created"] == 333 and one["result"]["stopReason"] == "empty page"
    assert fake_api.max_in_flight >= 2


def test_a_failure_on_page_37_of_100_deletes_nothing_in_either(any_objects, any_twins, fake_api):
    objects, twins = any_objects, any_twins
    fake_api.set_records(1000)
    sequential, concurrent = twins(f"/paged/page?pageSize=10&delay={DELAY}")
    _run_both(objects, sequential, concurrent, fake_api)

    fake_api.set_records(900)  # 100 records vanished, but neither run gets to see the end
    failing = f"/paged/page?pageSize=10&delay={DELAY}&failOn=37"
    sequential, concurrent = _endpoint(objects, sequential, failing), _endpoint(objects, concurrent, failing)
    one, other = _run_both(objects, sequential, concurrent, fake_api)

    for log in (one, other):
        assert log["status"] == "error" and "page 37" in log["message"]
        assert log["result"]["pages"] == 36 and log["result"]["objects"]["deleted"] == 0
    assert objects.find_all("dcat", "copy", limit=0)["total"] == 1000


def test_a_429_in_the_middle_is_waited_out_by_all_pages_together(objects, twins, fake_api):
    fake_api.set_records(400)
    sequential, concurrent = twins(f"/paged/page?pageSize=10&delay={DELAY}&tooManyOn=20")
    fake_api.max_in_flight = 0
    one = SynchronizationService().synchronize(sequential)
    fake_api.counters.clear()
    fake_api.answers.clear()
    other = SynchronizationService().synchronize(concurrent)

    assert one["status"] == other["status"] == "success"
    assert _comparable(other) == _comparable(one)
    assert _state(objects, concurrent, "copy") == _state(objects, sequential, "dataset")
    assert one["result"]["objects"]["created"] == 400
    # after the 429 (Retry-After: 1) no page request went out until the second had passed,
    # except those already on their way when it came
    too_many = next(at for at, status in fake_api.answers if status == 429)
    sent_during = [
        r for r in fake_api.requests if r.path == "/paged/page" and too_many + 0.3 < r.at < too_many + 0.9
    ]
    assert sent_during == []


def test_a_repeated_page_ends_both_runs_at_the_same_place(objects, twins, fake_api):
    fake_api.set_records(300)
    sequential, concurrent = twins(f"/paged/page?pageSize=10&delay={DELAY}&repeatOn=12")

    one, _ = _run_both(objects, sequential, concurrent, fake_api)
    assert one["result"]["stopReason"] == "repeated page"
    assert one["result"]["objects"]["created"] == 110 and one["result"]["pages"] == 11


def test_max_pages_and_progress_are_the_same(objects, twins, fake_api):
    fake_api.set_records(500)
    sequential, concurrent = twins(f"/paged/page?pageSize=10&delay={DELAY}", maxPages=23)
    seen: dict[str, list[int]] = {"one": [], "other": []}
    one = SynchronizationService().synchronize(sequential, progress=lambda p: seen["one"].append(p["pages"]))
    other = SynchronizationService().synchronize(
        concurrent, progress=lambda p: seen["other"].append(p["pages"])
    )

    assert _comparable(other) == _comparable(one)
    assert one["result"]["pages"] == 23 and not one["result"]["complete"]
    assert seen["one"] == seen["other"] == list(range(1, 24))
    assert all(int(r.query.get("page", "1")) <= 23 for r in fake_api.requests if r.path == "/paged/page")


def test_the_rate_limit_is_never_exceeded_by_pages_fetched_at_once(objects, twins, fake_api):
    fake_api.set_records(120)
    fake_api.rate_limit(4, reset_in=1)  # 4 calls a second
    sequential, concurrent = twins(f"/paged/page?pageSize=10&delay={DELAY}&limited=1")

    fake_api.max_in_flight = 0
    log = SynchronizationService().synchronize(concurrent)

    assert log["status"] == "success", log["message"]
    assert log["result"]["objects"]["created"] == 120
    assert fake_api.counters["rate limit exceeded"] == 0
    assert fake_api.max_in_flight <= 4


def test_cursor_pages_stay_sequential(fake_api):
    pagination = {"type": "cursor", "cursorPath": "meta.next_cursor", "param": "cursor"}
    with CallService() as calls:
        pages = calls.pages(
            fake_api.source(), "/paged/cursor", query={"limit": 5}, pagination=pagination, concurrency=8
        )
        assert sum(len(p.records) for p in pages) == 45
    assert pages.requests_sent == fake_api.hits("/paged/cursor") == 9
    assert fake_api.max_in_flight == 1


def test_predictable_next_links_are_fetched_ahead(fake_api):
    fake_api.set_records(300)
    with CallService() as calls:
        pages = calls.pages(fake_api.source(), "/paged/next?style=links&delay=0.05", concurrency=8)
        ids = [r["id"] for page in pages for r in page.records]
    assert ids == list(range(1, 301))
    assert pages.stop_reason == "no next link"
    assert fake_api.max_in_flight >= 2
    assert pages.requests_sent <= 30 + 8  # at most concurrency past the end (no total in the body)


def test_a_total_in_the_first_answer_keeps_requests_within_the_listing(fake_api):
    fake_api.set_records(300)
    with CallService() as calls:
        pages = calls.pages(fake_api.source(), "/paged/next?style=next&delay=0.05", concurrency=8)
        assert len([r for page in pages for r in page.records]) == 300
    assert fake_api.max_in_flight >= 2
    sent = [r for r in fake_api.requests if r.path == "/paged/next" and r.query.get("style") == "next"]
    assert pages.requests_sent == len(sent) == 30  # "count": 300 → 30 pages, no more
