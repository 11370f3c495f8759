"""The Outbox tab of the Logs page: events a push synchronisation could not deliver, and a retry button."""

from __future__ import annotations

import re
from typing import Any

from receiver import Receiver, make_push  # tests/connector is on sys.path (tests/conftest.py)

from openconnector.connector import outbox
from openconnector.context import Context


def test_a_parked_event_is_shown_and_retried_from_the_page(
    browser: Any, context: Context, make_dcat: Any
) -> None:
    make_dcat(context)
    with Receiver() as receiver:
        objects, sync = make_push(context, receiver)
        made = objects.save_object({"title": "<b>Refused</b>"}, "dcat", "dataset")
        receiver.down = True
        outbox.OutboxDeliverer(context, max_attempts=1).deliver_due()

        page = browser.get("/logs?kind=outbox&status=failed").text
        assert "Datasets out" in page and f"create {made['id']}" in page
        assert "503" in page  # the receiver's answer, as the reason
        (event_id,) = re.findall(r'action="/logs/outbox/(\d+)/retry"', page)

        answer = browser.post(f"/logs/outbox/{event_id}/retry")
        assert answer.status_code == 303 and answer.headers["location"] == "/logs?kind=outbox"
        assert "Retry</button>" not in browser.get("/logs?kind=outbox").text  # pending again, not failed

        receiver.down = False
        outbox.OutboxDeliverer(context).deliver_due()
        assert "No events waiting" in browser.get("/logs?kind=outbox").text
        assert [b for _, _, b in receiver.calls("POST")] == [{"name": "<b>Refused</b>"}]


def test_a_push_synchronisation_has_a_page_in_the_list_and_of_its_own(
    browser: Any, context: Context, make_dcat: Any
) -> None:
    make_dcat(context)
    with Receiver() as receiver:
        _, sync = make_push(context, receiver)
        assert "Datasets out" in browser.get("/synchronizations").text
        page = browser.get(f"/synchronizations/{sync['uuid']}")
        assert page.status_code == 200 and "Datasets out" in page.text
        assert "Push to an API" in page.text and "Receiver" in page.text
        assert "<code>POST /items</code>" in page.text and "<code>data.id</code>" in page.text
        assert "<code>PUT /items/{id}</code>" in page.text and "create, update, delete" in page.text
