"""``kill -9`` between the commit of an object and the delivery of its event: delivered after restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from receiver import Receiver, make_push  # tests/connector is on sys.path (tests/conftest.py)

from openconnector.connector import outbox

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from openconnector.context import Context
    from openconnector.register.objects import ObjectService
    from openconnector.store.settings import Settings

    settings = Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2] or None,
                        secret_key="test-secret", admin_password="admin", scheduler=False)
    saved = ObjectService(Context(settings)).save_object({"title": "Before the crash"}, "dcat", "dataset")
    print(saved["id"], flush=True)
    time.sleep(600)  # killed here: committed, never delivered by this process
    """
)


def test_an_event_committed_before_kill_9_is_delivered_after_restart(any_context, any_settings, make_dcat):
    make_dcat(any_context)
    with Receiver() as receiver:
        _, sync = make_push(any_context, receiver)
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(any_settings.data_dir), any_settings.database_url or ""],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        try:
            object_id = process.stdout.readline().strip()
            assert object_id, "the writer process saved nothing"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        assert receiver.requests == []
        # "restart": a fresh deliverer finds the event the killed process committed
        assert outbox.OutboxDeliverer(any_context).deliver_due() == 1
        assert receiver.calls("POST") == [("POST", "/items", {"name": "Before the crash"})]
        assert outbox.list_events(any_context)["total"] == 0
