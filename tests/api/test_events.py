"""Events in and out over REST: ZGW notifications, webhooks, and the outbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from openconnector import ObjectService
from openconnector.connector import outbox

PREFIX = "/index.php/apps/openconnector"


def _save(context, schema, data):
    return ObjectService(context).save_object(object=data, register="openconnector", schema=schema)


@pytest.fixture
def pets_sync(any_context, make_dcat, fake_api):
    make_dcat(any_context)
    source = _save(
        any_context,
        "source",
        {
            "name": "Pets",
            "type": "api",
            "location": fake_api.url + "/api/v3",
            "auth": "none",
            "isEnabled": True,
        },
    )
    mapping = _save(any_context, "mapping", {"name": "Pet", "mapping": {"title": "{{ name }}"}})
    _save(
        any_context,
        "consumer",
        {"name": "zgw", "authorizationType": "apiKey", "authorizationConfiguration": {"key": "zgw-secret"}},
    )
    return _save(
        any_context,
        "synchronization",
        {
            "name": "Pets in",
            "sourceId": source["id"],
            "sourceType": "api",
            "sourceConfig": {"endpoint": "/pet/findByStatus?status=available", "kanaal": "pets"},
            "sourceTargetMapping": mapping["id"],
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
    )


def _titles(context):
    return sorted(o["title"] for o in ObjectService(context).find_all("dcat", "dataset")["results"])


def _wait(condition, what, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _notify(client, fake_api, actie, pet=3, **headers):
    return client.post(
        f"{PREFIX}/api/notifications",
        json={
            "kanaal": "pets",
            "resource": "pet",
            "resourceUrl": f"{fake_api.url}/api/v3/pet/{pet}",
            "actie": actie,
            "aanmaakdatum": "2026-12-06T12:00:00Z",
        },
        headers=headers,
        auth=None,
    )


@pytest.fixture
def deliverer(any_context):
    """The outbox deliverer a service runs beside its scheduler (the test settings run none)."""
    running = outbox.OutboxDeliverer(any_context, poll=0.2).start()
    yield running
    running.stop()


def test_a_notification_syncs_exactly_its_record(any_client, any_context, pets_sync, fake_api, deliverer):
    key = {"Authorization": "Bearer zgw-secret"}
    answer = _notify(any_client, fake_api, "create", **key)
    assert answer.status_code == 204
    _wait(lambda: _titles(any_context) == ["Luna"], "the one pet")
    assert fake_api.hits("/api/v3/pet/findByStatus") == 0  # no full run

    fake_api.rename_pet(3, "Luna II")
    assert _notify(any_client, fake_api, "update", **key).status_code == 204
    _wait(lambda: _titles(any_context) == ["Luna II"], "the renamed pet (same object)")

    assert _notify(any_client, fake_api, "destroy", **key).status_code == 204
    _wait(lambda: _titles(any_context) == [], "the object deleted")


SERVICE = textwrap.dedent(
    """
    import signal, sys
    from pathlib import Path
    from fastapi.testclient import TestClient
    from openconnector.api.app import create_app
    from openconnector.context import Context
    from openconnector.store.settings import Settings

    settings = Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2] or None,
                        secret_key="test-secret", admin_password="admin", scheduler=False)
    client = TestClient(create_app(Context(settings)))
    answer = client.post("/index.php/apps/openconnector/api/notifications", json={
        "kanaal": "pets", "resource": "pet", "resourceUrl": sys.argv[3], "actie": "create",
        "aanmaakdatum": "2026-12-06T12:00:00Z"}, headers={"Authorization": "Bearer zgw-secret"})
    print(answer.status_code, flush=True)
    signal.pause()  # until the test's SIGKILL: answered, never processed by this process
    """
)


def test_a_notification_answered_before_kill_9_is_processed_after_restart(
    any_client, any_context, any_settings, pets_sync, fake_api
):
    service = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVICE,
            str(any_settings.data_dir),
            any_settings.database_url or "",
            f"{fake_api.url}/api/v3/pet/3",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert service.stdout.readline().strip() == "204"
    finally:
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=30)
    assert _titles(any_context) == []
    (queued,) = any_client.get(f"{PREFIX}/api/outbox").json()["results"]
    assert queued["action"] == "notify" and queued["status"] == "pending"
    assert queued["synchronizationId"] == pets_sync["id"]
    assert queued["payload"]["resourceUrl"] == f"{fake_api.url}/api/v3/pet/3"
    # "restart": the deliverer of the next process finds the queued notification
    assert outbox.OutboxDeliverer(any_context).deliver_due() == 1
    assert _titles(any_context) == ["Luna"]
    assert any_client.get(f"{PREFIX}/api/outbox").json()["total"] == 0


def test_a_notification_whose_record_cannot_be_fetched_is_retried(any_client, any_context, pets_sync):
    from receiver import Receiver  # tests/connector is on sys.path (tests/conftest.py)

    with Receiver() as receiver:
        receiver.items["7"] = {"id": 7, "name": "Bello"}
        receiver.down = True
        answer = any_client.post(
            f"{PREFIX}/api/notifications",
            json={"kanaal": "pets", "resourceUrl": f"{receiver.url}/items/7", "actie": "create"},
            headers={"Authorization": "Bearer zgw-secret"},
            auth=None,
        )
        assert answer.status_code == 204
        deliverer = outbox.OutboxDeliverer(any_context, backoff=0.01)
        assert deliverer.deliver_due() == 1
        (waiting,) = any_client.get(f"{PREFIX}/api/outbox").json()["results"]
        assert waiting["status"] == "pending" and waiting["attempts"] == 1
        assert "503" in waiting["lastError"]
        assert _titles(any_context) == []

        receiver.down = False
        _wait(lambda: deliverer.deliver_due() == 1, "the retried notification")
        assert _titles(any_context) == ["Bello"]
        assert any_client.get(f"{PREFIX}/api/outbox").json()["total"] == 0


def test_notifications_need_a_valid_key_or_login(client, context, make_dcat, fake_api):
    _save(
        context,
        "consumer",
        {"name": "zgw", "authorizationType": "apiKey", "authorizationConfiguration": {"key": "zgw-secret"}},
    )
    assert _notify(client, fake_api, "create", Authorization="Bearer wrong").status_code == 401
    assert _notify(client, fake_api, "create").status_code == 401
    assert _notify(client, fake_api, "create", **{"X-Api-Key": "zgw-secret"}).status_code == 204
    bad = client.post(f"{PREFIX}/api/notifications", json={"kanaal": "pets"})
    assert bad.status_code == 400 and "resourceUrl" in bad.json()["message"]


def test_a_webhook_runs_the_synchronisation_on_the_given_records(client, context, make_dcat, fake_api):
    make_dcat(context)
    sync = _save(
        context,
        "synchronization",
        {"name": "Hook", "sourceType": "api", "targetType": "register/schema", "targetId": "dcat/dataset"},
    )
    answer = client.post(
        f"{PREFIX}/api/synchronizations/{sync['id']}/webhook",
        json=[{"id": 1, "title": "One"}, {"id": 2, "title": "Two"}],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["objects"]["created"] == 2
    assert _titles(context) == ["One", "Two"]


def test_the_outbox_lists_and_retries_failed_events(client, context):
    assert client.get(f"{PREFIX}/api/outbox").json() == {"results": [], "total": 0}
    assert client.get(f"{PREFIX}/api/outbox", auth=None).status_code == 401
    assert client.post(f"{PREFIX}/api/outbox/12345/retry").status_code == 404
    assert client.get(f"{PREFIX}/api/outbox?status=weird").status_code == 400


def test_a_push_synchronisation_made_and_run_over_rest_and_its_failed_event_retried(
    client, context, make_dcat
):
    from receiver import Receiver  # tests/connector is on sys.path (tests/conftest.py)

    from openconnector.connector import outbox

    make_dcat(context)
    with Receiver() as receiver:
        target = client.post(
            f"{PREFIX}/api/sources", json={"name": "Receiver", "type": "api", "location": receiver.url}
        ).json()
        made = client.post(
            f"{PREFIX}/api/synchronizations",
            json={
                "name": "Out",
                "sourceType": "register/schema",
                "sourceId": "dcat/dataset",
                "targetType": "api",
                "targetId": target["uuid"],
                "targetConfig": {"endpoint": "/items", "idPosition": "data.id"},
            },
        )
        assert made.status_code == 200, made.text
        receiver.down = True
        assert (
            client.post(
                "/index.php/apps/openregister/api/objects/dcat/dataset", json={"title": "Over REST"}
            ).status_code
            == 201
        )
        outbox.OutboxDeliverer(context, max_attempts=1).deliver_due()
        (event,) = client.get(f"{PREFIX}/api/outbox?status=failed").json()["results"]
        assert event["action"] == "create" and "503" in event["lastError"]

        receiver.down = False
        run = client.post(f"{PREFIX}/api/synchronizations/{made.json()['id']}/run").json()
        assert run["result"]["type"] == "internToExtern" and run["result"]["objects"]["created"] == 1
        assert client.post(f"{PREFIX}/api/outbox/{event['id']}/retry").json() == {"retried": 1}
        assert outbox.OutboxDeliverer(context).deliver_due() == 1
        # the run already sent it: the retried create found the contract and the same body, so nothing more
        assert [m for m, _, _ in receiver.requests] == ["POST"]
        assert client.get(f"{PREFIX}/api/outbox").json()["total"] == 0


def _zgw_token(secret, client_id="zgw-notificaties", **claims):
    """A token as the ZGW APIs sign them: HS256, ``client_id`` and ``iss`` the client, ``iat``."""
    import jwt

    payload = {"iss": client_id, "client_id": client_id, "iat": int(time.time()), "user_id": "nrc", **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def test_a_notification_signed_with_a_consumers_jwt_is_accepted(client, context, make_dcat, fake_api):
    make_dcat(context)
    _save(
        context,
        "consumer",
        {
            "name": "zgw-notificaties",
            "authorizationType": "jwt",
            "authorizationConfiguration": {
                "algorithm": "HS256",
                "publicKey": "zgw-shared-secret-of-at-least-32-bytes",
            },
        },
    )
    good = _zgw_token("zgw-shared-secret-of-at-least-32-bytes")
    assert _notify(client, fake_api, "create", Authorization=f"Bearer {good}").status_code == 204

    refused = {
        "a wrong secret": (_zgw_token("not-the-secret-but-just-as-long-as-it"), "not valid"),
        "an expired token": (
            _zgw_token("zgw-shared-secret-of-at-least-32-bytes", exp=int(time.time()) - 120),
            "expired",
        ),
        "an old token without exp": (
            _zgw_token("zgw-shared-secret-of-at-least-32-bytes", iat=int(time.time()) - 7200),
            "expired",
        ),
        "an unknown client": (
            _zgw_token("zgw-shared-secret-of-at-least-32-bytes", client_id="someone-else"),
            "someone-else",
        ),
    }
    for what, (token, says) in refused.items():
        answer = _notify(client, fake_api, "create", Authorization=f"Bearer {token}")
        assert answer.status_code == 401, what
        assert answer.json()["error"] == "Unauthorized" and says in answer.json()["message"], what
    # only the accepted notification was queued (no subscriber: nothing to queue at all)
    assert client.get(f"{PREFIX}/api/outbox").json()["total"] == 0


def test_a_notification_signed_with_rs256_is_verified_with_the_consumers_public_key(
    any_client, any_context, pets_sync, fake_api
):
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _save(
        any_context,
        "consumer",
        {
            "name": "zaken-api",
            "authorizationType": "jwt",
            "authorizationConfiguration": {"algorithm": "RS256", "publicKey": public.decode()},
        },
    )
    token = jwt.encode({"iss": "zaken-api", "iat": int(time.time())}, private, algorithm="RS256")
    assert _notify(any_client, fake_api, "create", Authorization=f"Bearer {token}").status_code == 204
    (queued,) = any_client.get(f"{PREFIX}/api/outbox").json()["results"]
    assert queued["action"] == "notify"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"iss": "zaken-api", "iat": int(time.time())}, other, algorithm="RS256")
    assert _notify(any_client, fake_api, "create", Authorization=f"Bearer {forged}").status_code == 401
