"""What a run tells the person who started it: the message of each way a run ends, and the
counters it reports after every page (the CLI's progress bar shows them)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from test_run_status import make_sync  # tests/connector is on sys.path (tests/conftest.py)

from openconnector import SynchronizationService


@pytest.fixture
def dcat(context: Any, make_dcat: Any) -> Any:
    return make_dcat(context)


def test_a_run_where_every_record_was_invalid_says_nothing_was_written(dcat: Any, fake_api: Any) -> None:
    log = SynchronizationService(dcat).synchronize(make_sync(dcat, fake_api, [1, 2, 3, 4])["id"])
    assert log["message"] == (
        "Failed: all 4 records were invalid; nothing was written and nothing deleted (see result.invalid)"
    )


def test_a_run_that_found_no_records_says_so_and_where_to_look(dcat: Any, fake_api: Any) -> None:
    sync = make_sync(dcat, fake_api, [], endpoint="/api/v3/pet/findByStatus?status=nobody-has-this")
    log = SynchronizationService(dcat).synchronize(sync["id"])
    assert (log["status"], log["result"]["objects"]["found"]) == ("success", 0)
    assert log["message"] == "No records found: the response held no records. Check resultsPosition."


def test_a_stopped_run_says_it_stopped_after_a_complete_page(dcat: Any, fake_api: Any) -> None:
    sync = make_sync(dcat, fake_api, [])
    fake_api.set_records(25)  # three pages of 10
    stop = threading.Event()
    log = SynchronizationService(dcat).synchronize(sync["id"], stop=stop, progress=lambda _: stop.set())
    assert (log["status"], log["message"]) == (
        "interrupted",
        "Stopped after a complete page; nothing was deleted",
    )
    assert log["result"]["objects"]["created"] == 10


def test_the_counters_are_reported_after_every_page(dcat: Any, fake_api: Any) -> None:
    sync = make_sync(dcat, fake_api, [3])
    fake_api.set_records(25)
    seen: list[dict[str, Any]] = []
    SynchronizationService(dcat).synchronize(sync["id"], progress=seen.append)
    assert [(p["pages"], p["records"]) for p in seen] == [(1, 10), (2, 20), (3, 25)]
    # what was read so far (records, invalid ones); "created" counts the pages written so far
    assert (seen[-1]["objects"]["found"], seen[-1]["objects"]["invalid"]) == (25, 1)


def test_the_result_says_where_the_records_were_found(dcat: Any, fake_api: Any) -> None:
    """No ``resultsPosition`` is set: the run looked, and says where it found the list."""
    log = SynchronizationService(dcat).synchronize(make_sync(dcat, fake_api, [])["id"])
    assert log["result"]["resultsFoundAt"] == "results"
