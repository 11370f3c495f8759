"""A run says what happened (issue 12, point 2): success, warning, failure.

Four records come from the fake API; a mapping whose title is empty for some of
them makes those invalid (the Dataset schema wants a non-empty title). The run
log alone must tell the three outcomes apart: its status and message, the REST
answer, the job log level.
"""

from __future__ import annotations

from typing import Any

import pytest

from openconnector import ObjectService, SynchronizationService
from openconnector.connector.logs import LogService
from openconnector.jobs.runner import synchronization_action

API = "/index.php/apps/openconnector/api"
#: Title empty for the records whose id is in the set → those are invalid.
TITLE = "{% if id not in [INVALID] %}{{ name }}{% endif %}"


def make_sync(
    context: Any, fake_api: Any, invalid_ids: list[int], endpoint: str = "/paged/next?style=next&size=10"
) -> dict[str, Any]:
    """A synchronisation of 4 records of which ``invalid_ids`` are invalid (from ``endpoint``
    of the fake API)."""
    fake_api.set_records(4)
    objects = ObjectService(context)
    save = objects.save_object
    source = save({"name": "Fake", "type": "api", "location": fake_api.url}, "openconnector", "source")
    title = TITLE.replace("INVALID", ", ".join(map(str, invalid_ids)) or "0")
    mapping = save({"name": "m", "mapping": {"title": title}}, "openconnector", "mapping")
    return save(
        {
            "name": f"four with {len(invalid_ids)} invalid",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": endpoint},
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
        "openconnector",
        "synchronization",
    )


@pytest.fixture
def dcat(context: Any, make_dcat: Any) -> Any:
    return make_dcat(context)


def test_four_of_four_invalid_is_a_failure_that_writes_and_deletes_nothing(dcat: Any, fake_api: Any) -> None:
    sync = make_sync(dcat, fake_api, [1, 2, 3, 4])
    log = SynchronizationService(dcat).synchronize(sync["id"])
    assert log["status"] == "error"
    assert log["message"].startswith("Failed: all 4 records were invalid")
    assert log["result"]["objects"]["invalid"] == 4
    assert len(log["result"]["invalid"]) == 4
    assert ObjectService(dcat).find_all("dcat", "dataset", limit=0)["total"] == 0


def test_one_of_four_invalid_is_a_warning_and_the_rest_is_written(dcat: Any, fake_api: Any) -> None:
    sync = make_sync(dcat, fake_api, [2])
    log = SynchronizationService(dcat).synchronize(sync["id"])
    assert log["status"] == "warning"
    assert log["message"] == "Completed with 1 invalid of 4 records"
    assert (log["result"]["objects"]["created"], log["result"]["objects"]["invalid"]) == (3, 1)
    assert log["result"]["invalid"][0]["originId"] == "2"
    # the next run: the three are unchanged, the invalid one still reported
    again = SynchronizationService(dcat).synchronize(sync["id"])
    assert (again["status"], again["result"]["objects"]["skipped"]) == ("warning", 3)


def test_no_invalid_record_is_a_plain_success(dcat: Any, fake_api: Any) -> None:
    sync = make_sync(dcat, fake_api, [])
    log = SynchronizationService(dcat).synchronize(sync["id"])
    assert (log["status"], log["message"]) == ("success", "Success")


def test_the_stored_run_logs_alone_tell_the_three_apart(dcat: Any, fake_api: Any) -> None:
    service = SynchronizationService(dcat)
    for invalid in ([1, 2, 3, 4], [2], []):
        service.synchronize(make_sync(dcat, fake_api, invalid)["id"])
    logs = LogService(dcat)
    statuses = [r["status"] for r in logs.sync_logs()["results"]]
    assert statuses == ["success", "warning", "error"]  # newest first
    troubled = logs.sync_logs([("status", "warning,error")])["results"]
    assert [r["result"]["objects"]["invalid"] for r in troubled] == [1, 4]


def test_the_job_log_level_follows_the_run(dcat: Any, fake_api: Any) -> None:
    levels = {}
    for invalid in ([1, 2, 3, 4], [2], []):
        sync = make_sync(dcat, fake_api, invalid)
        outcome = synchronization_action(dcat, {"synchronizationId": sync["id"]})
        levels[len(invalid)] = (outcome.kind, outcome.level, outcome.message)
    assert levels[4][:2] == ("failed", "ERROR") and "all 4 records were invalid" in levels[4][2]
    assert levels[1] == ("success", "WARNING", "Synchronized: Completed with 1 invalid of 4 records")
    assert levels[0][:2] == ("success", "INFO")


def test_rest_answers_400_for_a_failure_and_200_with_the_warning(
    client: Any, context: Any, make_dcat: Any, fake_api: Any
) -> None:
    make_dcat(context)
    failed = client.post(f"{API}/synchronizations/{make_sync(context, fake_api, [1, 2, 3, 4])['id']}/run")
    assert failed.status_code == 400
    assert failed.json()["error"] == "Synchronization error" and failed.json()["status"] == "error"
    warned = client.post(f"{API}/synchronizations/{make_sync(context, fake_api, [3])['id']}/run")
    assert warned.status_code == 200
    assert (warned.json()["status"], warned.json()["result"]["objects"]["invalid"]) == ("warning", 1)
