"""``openconnector outbox list|retry``: parked events seen and sent again from the command line."""

from __future__ import annotations

import json

from receiver import Receiver, make_push  # tests/connector is on sys.path (tests/conftest.py)
from typer.testing import CliRunner

from openconnector.cli import _load_extensions, app
from openconnector.connector import outbox

runner = CliRunner()
_load_extensions()


def test_a_failed_event_is_listed_and_retried(context, make_dcat, monkeypatch):
    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", "test-secret")
    make_dcat(context)
    args = ["--data-dir", str(context.settings.data_dir)]
    with Receiver() as receiver:
        objects, _ = make_push(context, receiver)
        objects.save_object({"title": "Refused"}, "dcat", "dataset")
        receiver.down = True
        outbox.OutboxDeliverer(context, max_attempts=1).deliver_due()
        listed = runner.invoke(app, ["outbox", "list", "--status", "failed", "--json", *args])
        assert listed.exit_code == 0, listed.output
        (event,) = json.loads(listed.output)["results"]
        assert event["action"] == "create" and "503" in event["lastError"]

        retried = runner.invoke(app, ["outbox", "retry", str(event["id"]), *args])
        assert retried.exit_code == 0 and "1 event(s) pending again" in retried.output
        receiver.down = False
        assert outbox.OutboxDeliverer(context).deliver_due() == 1
        assert [b for _, _, b in receiver.calls("POST")] == [{"name": "Refused"}]
        shown = runner.invoke(app, ["outbox", "list", *args])
        assert "0 event(s)" in shown.output
