"""Push synchronisations: a register's objects sent to a receiving API on 127.0.0.1."""

from __future__ import annotations

import time

import pytest
from receiver import Receiver, make_push  # tests/connector is on sys.path (tests/conftest.py)

from openconnector import SynchronizationService
from openconnector.connector import outbox


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def _remote_ids(context, sync):
    with context.db.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT origin_id, target_id FROM synchronization_contracts WHERE synchronization_id = "
            + ("?" if context.db.is_sqlite else "%s"),
            (sync["uuid"],),
        ).all()
    return dict(rows)


def test_a_run_posts_puts_and_deletes_through_contracts(any_context, make_dcat, receiver):
    make_dcat(any_context)
    objects, sync = make_push(any_context, receiver, triggerOnlyOnEvents=[])
    made = [objects.save_object({"title": f"Set {i}"}, "dcat", "dataset") for i in range(3)]
    service = SynchronizationService(any_context)

    preview = service.synchronize(sync, test=True)
    assert preview["result"]["type"] == "internToExtern"
    assert preview["result"]["objects"]["created"] == 3
    assert {c["body"]["name"] for c in preview["result"]["wouldSend"]} == {"Set 0", "Set 1", "Set 2"}
    assert receiver.requests == []  # test mode sends nothing

    first = service.synchronize(sync)
    assert first["status"] == "success", first
    assert first["result"]["objects"]["created"] == 3
    assert sorted(b["name"] for _, _, b in receiver.calls("POST")) == ["Set 0", "Set 1", "Set 2"]
    remote = _remote_ids(any_context, sync)
    assert set(remote) == {m["id"] for m in made} and set(remote.values()) == {"r1", "r2", "r3"}

    again = service.synchronize(sync)
    assert again["result"]["objects"]["skipped"] == 3 and len(receiver.requests) == 3

    objects.save_object({"title": "Set 1 renamed"}, "dcat", "dataset", uuid=made[1]["id"])
    objects.delete_object(made[2]["id"])
    third = service.synchronize(sync)
    counts = third["result"]["objects"]
    assert (counts["updated"], counts["deleted"], counts["skipped"], counts["created"]) == (1, 1, 1, 0)
    assert receiver.calls("PUT") == [("PUT", f"/items/{remote[made[1]['id']]}", {"name": "Set 1 renamed"})]
    assert receiver.calls("DELETE") == [("DELETE", f"/items/{remote[made[2]['id']]}", None)]
    assert set(_remote_ids(any_context, sync)) == {made[0]["id"], made[1]["id"]}


def test_conditions_filter_what_is_sent(context, make_dcat, receiver):
    make_dcat(context)
    objects, sync = make_push(context, receiver, conditions={"==": [{"var": "title"}, "Yes"]})
    objects.save_object({"title": "Yes"}, "dcat", "dataset")
    objects.save_object({"title": "No"}, "dcat", "dataset")
    log = SynchronizationService(context).synchronize(sync)
    assert log["result"]["objects"]["created"] == 1 and log["result"]["objects"]["skipped"] == 1
    assert [b for _, _, b in receiver.calls("POST")] == [{"name": "Yes"}]


def test_a_refusing_receiver_is_reported_per_object(context, make_dcat, receiver):
    make_dcat(context)
    objects, sync = make_push(context, receiver, targetConfig={"endpoint": "/nowhere"})
    objects.save_object({"title": "A"}, "dcat", "dataset")
    log = SynchronizationService(context).synchronize(sync)
    assert log["status"] == "warning"
    assert "404" in log["result"]["invalid"][0]["reason"]


def _wait(condition, what, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _outbox_rows(context):
    return outbox.list_events(context)["results"]


def test_object_events_reach_the_receiver_through_the_outbox(any_context, make_dcat, receiver):
    make_dcat(any_context)
    objects, sync = make_push(any_context, receiver)
    deliverer = outbox.OutboxDeliverer(any_context, backoff=0.05, poll=0.05, max_attempts=1000).start()
    try:
        made = [objects.save_object({"title": f"Set {i}"}, "dcat", "dataset") for i in range(3)]
        _wait(lambda: len(receiver.calls("POST")) == 3 and not _outbox_rows(any_context), "3 POSTs")
        assert sorted(b["name"] for _, _, b in receiver.calls("POST")) == ["Set 0", "Set 1", "Set 2"]
        remote = _remote_ids(any_context, sync)
        assert set(remote) == {m["id"] for m in made}

        objects.save_object({"title": "Set 0 renamed"}, "dcat", "dataset", uuid=made[0]["id"])
        _wait(lambda: receiver.calls("PUT"), "the PUT")
        assert receiver.calls("PUT") == [
            ("PUT", f"/items/{remote[made[0]['id']]}", {"name": "Set 0 renamed"})
        ]

        objects.save_object({"title": "Set 0 renamed"}, "dcat", "dataset", uuid=made[0]["id"])  # unchanged
        objects.delete_object(made[1]["id"])
        _wait(lambda: receiver.calls("DELETE") and not _outbox_rows(any_context), "the DELETE")
        assert receiver.calls("DELETE") == [("DELETE", f"/items/{remote[made[1]['id']]}", None)]
        assert len(receiver.calls("PUT")) == 1  # the unchanged save sent nothing

        # The receiver goes down: events wait, then arrive once, in order, when it is back.
        receiver.down = True
        objects.save_object({"title": "Set 2 v2"}, "dcat", "dataset", uuid=made[2]["id"])
        objects.save_object({"title": "Set 2 v3"}, "dcat", "dataset", uuid=made[2]["id"])
        fresh = objects.save_object({"title": "New while down"}, "dcat", "dataset")
        _wait(lambda: any(e["attempts"] >= 2 for e in _outbox_rows(any_context)), "failed attempts")
        assert len(receiver.requests) == 5  # nothing got through
        receiver.down = False
        _wait(lambda: not _outbox_rows(any_context), "the outbox to empty")
        assert receiver.items[remote[made[2]["id"]]] == {"name": "Set 2 v3"}
        assert [b for _, _, b in receiver.calls("POST")][-1] == {"name": "New while down"}
        assert len(receiver.calls("POST")) == 4  # no create twice
        assert fresh["id"] in _remote_ids(any_context, sync)
        assert len(receiver.items) == 3
    finally:
        deliverer.stop()


def test_events_are_kept_until_a_deliverer_runs_and_failures_park(context, make_dcat, receiver):
    make_dcat(context)
    objects, sync = make_push(context, receiver, triggerOnlyOnEvents=["create"])
    made = objects.save_object({"title": "Queued"}, "dcat", "dataset")
    objects.save_object({"title": "Queued, changed"}, "dcat", "dataset", uuid=made["id"])  # not an event
    assert [(e["action"], e["objectId"]) for e in _outbox_rows(context)] == [("create", made["id"])]

    receiver.down = True
    deliverer = outbox.OutboxDeliverer(context, backoff=0.01, max_attempts=2)
    while deliverer.deliver_due() or any(e["status"] == "pending" for e in _outbox_rows(context)):
        time.sleep(0.02)
    (parked,) = _outbox_rows(context)
    assert parked["status"] == "failed" and "503" in parked["lastError"]

    receiver.down = False
    assert outbox.retry(context, parked["id"]) == 1
    assert deliverer.deliver_due() == 1
    assert _outbox_rows(context) == []
    assert [b for _, _, b in receiver.calls("POST")] == [{"name": "Queued, changed"}]


def test_objects_written_by_a_pull_become_events_too(any_context, make_dcat, receiver, fake_api):
    """On PostgreSQL the page write also NOTIFYs the deliverers of other processes."""
    make_dcat(any_context)
    objects, _ = make_push(any_context, receiver)
    source = objects.save_object(
        {"name": "Pets", "type": "api", "location": fake_api.url + "/api/v3", "auth": "none"},
        "openconnector",
        "source",
    )
    mapping = objects.save_object(
        {"name": "Pet", "mapping": {"title": "{{ name }}"}}, "openconnector", "mapping"
    )
    pull = objects.save_object(
        {
            "name": "Pets in",
            "sourceId": source["id"],
            "sourceType": "api",
            "sourceConfig": {"endpoint": "/pet/findByStatus?status=available"},
            "sourceTargetMapping": mapping["id"],
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
        "openconnector",
        "synchronization",
    )
    assert SynchronizationService(any_context).synchronize(pull)["result"]["objects"]["created"] == 8
    events = _outbox_rows(any_context)
    assert len(events) == 8 and {e["action"] for e in events} == {"create"}
    outbox.OutboxDeliverer(any_context).deliver_due()
    assert len(receiver.calls("POST")) == 8 and _outbox_rows(any_context) == []

    pet = next(p for p in fake_api.pets if p["status"] == "available")
    fake_api.rename_pet(pet["id"], "Renamed")
    assert SynchronizationService(any_context).synchronize(pull)["result"]["objects"]["updated"] == 1
    assert [e["action"] for e in _outbox_rows(any_context)] == ["update"]  # a page write of one event


def test_a_batch_save_and_a_batch_delete_write_one_event_per_object(any_context, make_dcat, receiver):
    make_dcat(any_context)
    objects, _ = make_push(any_context, receiver)
    saved = objects.save_objects(
        [{"title": "A"}, {"title": "B"}, {"title": "C"}], "dcat", "dataset", shape=False
    )
    assert sorted(e["action"] for e in _outbox_rows(any_context)) == ["create"] * 3
    objects.delete_objects(saved)
    assert sorted(e["action"] for e in _outbox_rows(any_context)) == ["create"] * 3 + ["delete"] * 3
    outbox.OutboxDeliverer(any_context).deliver_due()
    outbox.OutboxDeliverer(any_context).deliver_due()
    # created and deleted before delivery: the receiver never hears of them, and nothing is left over
    assert receiver.requests == [] and _outbox_rows(any_context) == []


def test_events_wait_while_a_full_run_of_their_synchronisation_is_busy(context, make_dcat, receiver):
    from openconnector.store.locks import LockService

    make_dcat(context)
    objects, sync = make_push(context, receiver)
    objects.save_object({"title": "During a run"}, "dcat", "dataset")
    locks = LockService(context.db)
    assert locks.acquire(f"synchronization:{sync['uuid']}", "a-run", ttl=60)
    deliverer = outbox.OutboxDeliverer(context)
    assert deliverer.deliver_due() == 0 and receiver.requests == []
    locks.release(f"synchronization:{sync['uuid']}", "a-run")
    assert deliverer.deliver_due() == 1 and len(receiver.calls("POST")) == 1


def test_a_lapsed_claim_is_renewed_unless_another_deliverer_took_the_event(context, make_dcat, receiver):
    """A slow pass renews a claim before sending; a claim that another process renewed is left to it."""
    make_dcat(context)
    objects, _ = make_push(context, receiver)
    objects.save_object({"title": "Taken"}, "dcat", "dataset")
    mine = outbox.OutboxDeliverer(context, lease=0.0)  # every claim has lapsed by the time it is used
    (row,) = mine.claim()
    with context.db.begin() as conn:  # meanwhile another process claimed it anew
        conn.exec_driver_sql("UPDATE outbox SET claimed_until = ?", (time.time() + 60,))
    assert not mine._still_mine(row)
    assert receiver.requests == []

    objects.save_object({"title": "Kept"}, "dcat", "dataset")
    with context.db.begin() as conn:
        conn.exec_driver_sql("UPDATE outbox SET claimed_until = NULL")
    assert mine.deliver_due() == 2  # lapsed claims, renewed by nobody else: renewed and sent
    assert sorted(b["name"] for _, _, b in receiver.calls("POST")) == ["Kept", "Taken"]
