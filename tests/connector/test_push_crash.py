"""``kill -9`` between the commit of an object and the delivery of its event: delivered after restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from receiver import Receiver, make_push  # tests/connector is on sys.path (tests/conftest.py)

from openconnector.connector import outbox

WRITER = textwrap.dedent(
    """
    import signal, sys
    from pathlib import Path
    from openconnector.context import Context
    from openconnector.register.objects import ObjectService
    from openconnector.store.settings import Settings

    settings = Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2] or None,
                        secret_key="test-secret", admin_password="admin", scheduler=False)
    saved = ObjectService(Context(settings)).save_object({"title": "Before the crash"}, "dcat", "dataset")
    print(saved["id"], flush=True)
    signal.pause()  # until the test's SIGKILL: committed, never delivered by this process
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


SAVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from openconnector.context import Context
    from openconnector.register.objects import ObjectService
    from openconnector.store.settings import Settings

    settings = Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2],
                        secret_key="test-secret", admin_password="admin", scheduler=False)
    ObjectService(Context(settings)).save_object({"title": "From another process"}, "dcat", "dataset")
    """
)


@pytest.mark.postgres
def test_a_deliverer_is_woken_by_a_commit_in_another_process_on_postgresql(settings, pg_url, make_dcat):
    """A worker does not wait for its poll: the writer's transaction NOTIFYs at commit."""
    from dataclasses import replace

    from openconnector.context import Context

    pg = replace(settings, database_url=pg_url)
    context = Context(pg)
    try:
        make_dcat(context)
        with Receiver() as receiver:
            make_push(context, receiver)
            deliverer = outbox.OutboxDeliverer(context, poll=300).start()  # polling alone: 5 minutes
            try:
                assert deliverer.listening.wait(30), "the deliverer never listened"
                started = time.monotonic()
                subprocess.run(
                    [sys.executable, "-c", SAVER, str(pg.data_dir), pg_url], check=True, timeout=120
                )
                while not receiver.calls("POST") and time.monotonic() - started < 60:
                    time.sleep(0.05)
                assert receiver.calls("POST") == [("POST", "/items", {"name": "From another process"})]
            finally:
                deliverer.stop()
    finally:
        context.close()
