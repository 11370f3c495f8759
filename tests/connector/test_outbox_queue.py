"""The outbox as operators see it: which events are written, how they are listed, and
what a retry does (``connector/outbox.py``; the REST and CLI forms call these)."""

from __future__ import annotations

import time

import pytest
from receiver import Receiver, make_push  # tests/connector is on sys.path (tests/conftest.py)

from openconnector import ObjectService
from openconnector.clock import now_iso
from openconnector.connector import outbox
from openconnector.errors import NotFound


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def _park_all(context):
    """Deliver what is due to a receiver that is down, with one attempt each: all parked
    (and, with a long backoff, not due again for a minute)."""
    deliverer = outbox.OutboxDeliverer(context, backoff=60, max_attempts=1)
    while deliverer.deliver_due():
        pass
    return outbox.list_events(context, status="failed")["results"]


def test_events_are_listed_oldest_first_by_status_a_page_at_a_time(context, make_dcat, receiver):
    make_dcat(context)
    objects, _ = make_push(context, receiver)
    first = [objects.save_object({"title": f"Early {i}"}, "dcat", "dataset")["id"] for i in range(3)]
    receiver.down = True
    parked = _park_all(context)
    assert [e["objectId"] for e in parked] == first
    later = [objects.save_object({"title": f"Late {i}"}, "dcat", "dataset")["id"] for i in range(2)]

    everything = outbox.list_events(context)
    assert everything["total"] == 5
    assert [e["objectId"] for e in everything["results"]] == first + later
    assert [e["status"] for e in everything["results"]] == ["failed"] * 3 + ["pending"] * 2
    pending = outbox.list_events(context, status="pending")
    assert (pending["total"], [e["objectId"] for e in pending["results"]]) == (2, later)

    page = outbox.list_events(context, limit=2, offset=1)
    assert page["total"] == 5  # the total counts every match, not the page
    assert [e["objectId"] for e in page["results"]] == [first[1], first[2]]


def test_an_event_on_the_wire_names_its_fields_as_the_api_documents(context, make_dcat, receiver):
    make_dcat(context)
    objects, sync = make_push(context, receiver)
    made = objects.save_object({"title": "One"}, "dcat", "dataset")
    receiver.down = True
    (event,) = _park_all(context)
    assert set(event) == {
        "id",
        "synchronizationId",
        "objectId",
        "action",
        "status",
        "attempts",
        "nextAttempt",
        "lastError",
        "payload",
        "created",
        "updated",
    }
    assert (event["synchronizationId"], event["objectId"], event["action"]) == (
        sync["uuid"],
        made["id"],
        "create",
    )
    assert event["attempts"] == 1 and "503" in event["lastError"]
    assert event["payload"] is None  # only a queued notification carries one
    assert event["nextAttempt"] > time.time() + 30  # parked with the backoff's delay
    assert event["created"] <= event["updated"]


def test_a_new_event_has_made_no_attempt_yet(context, make_dcat, receiver):
    make_dcat(context)
    objects, _ = make_push(context, receiver)
    objects.save_object({"title": "Fresh"}, "dcat", "dataset")
    (event,) = outbox.list_events(context)["results"]
    assert (event["status"], event["attempts"], event["lastError"]) == ("pending", 0, None)


def test_the_default_page_is_a_hundred_events(context, make_dcat, receiver):
    make_dcat(context)
    objects, _ = make_push(context, receiver)
    objects.save_objects([{"title": f"Set {i}"} for i in range(101)], "dcat", "dataset")
    listed = outbox.list_events(context)
    assert (listed["total"], len(listed["results"])) == (101, 100)


def _two_parked(context, make_dcat, receiver):
    """The push set-up with two events parked (the receiver is down); the objects service and them."""
    make_dcat(context)
    objects, _ = make_push(context, receiver)
    for i in range(2):
        objects.save_object({"title": f"Parked {i}"}, "dcat", "dataset")
    receiver.down = True
    return objects, _park_all(context)


def test_retrying_all_makes_only_the_failed_events_pending_again(context, make_dcat, receiver):
    objects, parked = _two_parked(context, make_dcat, receiver)
    objects.save_object({"title": "Waiting"}, "dcat", "dataset")
    while now_iso() == parked[-1]["updated"]:  # stamps are in seconds: the retry's is later
        time.sleep(0.05)

    assert outbox.retry(context) == 2  # the pending one is not counted
    events = outbox.list_events(context)["results"]
    assert [e["status"] for e in events] == ["pending"] * 3
    for before, after in zip(parked, events[:2], strict=True):
        assert after["attempts"] == 0  # a fresh budget of attempts
        assert after["nextAttempt"] <= time.time()  # due now, not after the backoff
        assert after["updated"] > before["updated"]
    assert outbox.retry(context) == 0


def test_retrying_one_event_leaves_the_others_parked(context, make_dcat, receiver):
    _, (one, other) = _two_parked(context, make_dcat, receiver)
    assert outbox.retry(context, str(one["id"])) == 1
    statuses = {e["id"]: e["status"] for e in outbox.list_events(context)["results"]}
    assert statuses == {one["id"]: "pending", other["id"]: "failed"}


@pytest.mark.parametrize("unknown", ["12345", "-1", "99999999999999999999", "abc"])
def test_retrying_an_unknown_event_says_which_was_not_found(context, unknown):
    with pytest.raises(NotFound) as caught:
        outbox.retry(context, unknown)
    assert caught.value.message == f"Outbox event {unknown} not found (delivered events are removed)"
    assert caught.value.details == {"id": unknown}


def test_a_pull_synchronisation_listed_first_does_not_hide_the_push_ones(context, make_dcat, receiver):
    """Every synchronisation is looked at: one that is not a push, or pushes from an unknown
    or malformed source, is passed over, not the end of the search."""
    make_dcat(context)
    objects = ObjectService(context)
    for name, extra in [
        (
            "Pull",
            {
                "sourceType": "api",
                "sourceId": "1",
                "targetType": "register/schema",
                "targetId": "dcat/dataset",
            },
        ),
        (
            "No source",
            {"sourceType": "register/schema", "sourceId": "", "targetType": "api", "targetId": "1"},
        ),
        (
            "Bad ref",
            {"sourceType": "register/schema", "sourceId": "dcat", "targetType": "api", "targetId": "1"},
        ),
        (
            "Unknown",
            {"sourceType": "register/schema", "sourceId": "no/such", "targetType": "api", "targetId": "1"},
        ),
    ]:
        objects.save_object({"name": name, **extra}, "openconnector", "synchronization")
    _, sync = make_push(context, receiver)
    made = objects.save_object({"title": "Seen"}, "dcat", "dataset")
    assert [(e["synchronizationId"], e["objectId"]) for e in outbox.list_events(context)["results"]] == [
        (sync["uuid"], made["id"])
    ]


def test_a_new_push_synchronisation_gets_the_next_events_at_once(context, make_dcat, receiver):
    """Saving a synchronisation forgets the cached list of subscribers in this process."""
    make_dcat(context)
    objects = ObjectService(context)
    objects.save_object({"title": "Before"}, "dcat", "dataset")  # caches "no subscribers"
    make_push(context, receiver)
    made = objects.save_object({"title": "After"}, "dcat", "dataset")
    assert [e["objectId"] for e in outbox.list_events(context)["results"]] == [made["id"]]


def test_objects_of_other_openconnector_schemas_are_events_like_any_others(context, receiver):
    """Only saving a synchronisation is exempt (it refreshes the subscribers instead)."""
    objects = ObjectService(context)
    mapping = objects.save_object(
        {"name": "M", "mapping": {"name": "{{ name }}"}}, "openconnector", "mapping"
    )
    _, sync = make_push(
        context, receiver, sourceId="openconnector/mapping", sourceTargetMapping=mapping["id"]
    )
    made = objects.save_object({"name": "Watched", "mapping": {}}, "openconnector", "mapping")
    events = outbox.list_events(context)["results"]
    assert [(e["synchronizationId"], e["objectId"]) for e in events] == [(sync["uuid"], made["id"])]


def test_two_databases_in_one_process_keep_their_own_subscribers(context, tmp_path, make_dcat, receiver):
    """The subscribers are cached per database: a push synchronisation of one instance
    never receives the events of another in the same process."""
    from dataclasses import replace

    from openconnector.context import Context

    make_dcat(context)
    make_push(context, receiver)
    ObjectService(context).save_object({"title": "Here"}, "dcat", "dataset")  # caches this one's
    other = Context(replace(context.settings, data_dir=tmp_path / "other"))
    try:
        make_dcat(other)  # the same register and schema ids, and no push synchronisation
        ObjectService(other).save_object({"title": "Elsewhere"}, "dcat", "dataset")
        assert outbox.list_events(other)["total"] == 0
        assert outbox.list_events(context)["total"] == 1
    finally:
        other.close()


def test_a_deliverer_that_polls_rarely_is_woken_by_the_commit(context, make_dcat, receiver):
    make_dcat(context)
    make_push(context, receiver)
    deliverer = outbox.OutboxDeliverer(context, poll=300).start()  # polling alone: 5 minutes
    try:
        started = time.monotonic()
        ObjectService(context).save_object({"title": "At once"}, "dcat", "dataset")
        while not receiver.calls("POST") and time.monotonic() - started < 60:
            time.sleep(0.02)
        assert receiver.calls("POST") == [("POST", "/items", {"name": "At once"})]
    finally:
        deliverer.stop()


def test_a_delete_by_uuid_records_its_event_when_the_subscribers_are_looked_up_again(
    any_context, make_dcat, receiver, monkeypatch
):
    make_dcat(any_context)
    objects, _ = make_push(any_context, receiver, triggerOnlyOnEvents=["delete"])
    made = objects.save_object({"title": "Going"}, "dcat", "dataset")
    monkeypatch.setattr(outbox, "CACHE_SECONDS", 0)  # as after two seconds: read from the database
    assert objects.delete_objects([made["id"]]) == 1
    assert [(e["action"], e["objectId"]) for e in outbox.list_events(any_context)["results"]] == [
        ("delete", made["id"])
    ]


def test_events_of_a_removed_push_synchronisation_are_dropped_unsent(context, make_dcat, receiver):
    make_dcat(context)
    objects, sync = make_push(context, receiver)
    objects.save_object({"title": "Orphan"}, "dcat", "dataset")
    objects.delete_object(sync["id"])
    outbox.OutboxDeliverer(context, max_attempts=10).deliver_due()
    assert outbox.list_events(context)["total"] == 0
    assert receiver.requests == []


def test_events_of_a_push_that_cannot_be_planned_are_parked_at_once_with_the_reason(
    context, make_dcat, receiver
):
    make_dcat(context)
    objects, _ = make_push(context, receiver, targetId="no-such-source")
    objects.save_object({"title": "Stuck"}, "dcat", "dataset")
    outbox.OutboxDeliverer(context, backoff=60, max_attempts=10).deliver_due()
    (event,) = outbox.list_events(context)["results"]
    assert (event["status"], event["attempts"]) == ("failed", 1)  # not retried: it cannot work
    assert "no-such-source" in event["lastError"]
    assert receiver.requests == []


def test_a_deliverer_counts_the_events_it_delivered(context, make_dcat, receiver):
    make_dcat(context)
    objects, _ = make_push(context, receiver)
    for i in range(3):
        objects.save_object({"title": f"Counted {i}"}, "dcat", "dataset")
    deliverer = outbox.OutboxDeliverer(context)
    deliverer.deliver_due()
    assert (deliverer.delivered, len(receiver.calls("POST"))) == (3, 3)


def _due_now(context):
    """As if the backoff had passed: every pending event is due again."""
    with context.db.begin() as conn:
        conn.exec_driver_sql("UPDATE outbox SET next_attempt = 0 WHERE status = 'pending'")


def test_a_failed_delivery_waits_the_backoff_doubling_with_each_attempt(context, make_dcat, receiver):
    make_dcat(context)
    objects, _ = make_push(context, receiver)
    objects.save_object({"title": "Later"}, "dcat", "dataset")
    receiver.down = True
    deliverer = outbox.OutboxDeliverer(context, backoff=100, backoff_max=10_000, max_attempts=10)
    waits = []
    for _ in range(3):
        _due_now(context)
        before = time.time()
        deliverer.deliver_due()
        (event,) = outbox.list_events(context)["results"]
        waits.append(round(event["nextAttempt"] - before, -1))  # to ten seconds: the call takes some
    assert waits == [100, 200, 400] and event["status"] == "pending"


def test_a_mapping_that_cannot_be_rendered_parks_the_event_at_once(context, make_dcat, receiver):
    """Retrying cannot help a broken template: the event is parked with the error, not retried."""
    make_dcat(context)
    objects, sync = make_push(context, receiver)
    objects.save_object(
        {"mapping": {"name": "{{ title|no_such_filter }}"}},
        "openconnector",
        "mapping",
        uuid=sync["sourceTargetMapping"],
        patch=True,
    )
    objects.save_object({"title": "Broken"}, "dcat", "dataset")
    outbox.OutboxDeliverer(context, backoff=60, max_attempts=10).deliver_due()
    (event,) = outbox.list_events(context)["results"]
    assert (event["status"], event["attempts"]) == ("failed", 1)
    assert "no_such_filter" in event["lastError"]
    assert receiver.requests == []
