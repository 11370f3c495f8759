"""OAuth2 tokens are fetched once and shared: across calls, runs and processes.

A local token server (``fake_api``'s ``/oauth/token``) counts the token requests.
A synchronisation run twice, then ``openconnector sync run`` in two more
processes, all call the source with one token; rotating the client secret drops it.
The stored token is encrypted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import select

from openconnector.connector.entities import EntityService
from openconnector.connector.sources import CallService
from openconnector.connector.sync import SynchronizationService
from openconnector.context import Context
from openconnector.store import tables as t


@pytest.fixture
def oauth_sync(context: Context, fake_api: Any) -> dict[str, Any]:
    from openconnector.register.registers import RegisterService

    registers = RegisterService(context)
    registers.create_register({"title": "Things", "slug": "things"})
    registers.create_schema({"title": "Thing", "slug": "thing", "register": "things", "properties": {}})
    fake_api.set_records(12)
    source = EntityService("source", context).create(
        {
            "name": "Guarded",
            "type": "api",
            "location": fake_api.url,
            "auth": "oauth2",
            "authenticationConfig": {
                "tokenUrl": f"{fake_api.url}/oauth/token",
                "clientId": fake_api.credentials["client_id"],
                "clientSecret": fake_api.credentials["client_secret"],
            },
        }
    )
    return EntityService("synchronization", context).create(
        {
            "name": "Guarded things",
            "sourceId": source["id"],
            "sourceConfig": {"endpoint": "/paged/next?style=next&size=5", "idPosition": "id"},
            "targetType": "register/schema",
            "targetId": "things/thing",
        }
    )


def _run(context: Context, sync: dict[str, Any]) -> dict[str, Any]:
    service = SynchronizationService(context)
    try:
        return service.synchronize(sync["uuid"])
    finally:
        service.calls.close()


def _cli_run(context: Context, sync: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENCONNECTOR_SECRET_KEY": context.settings.secret_key or ""}
    return subprocess.run(
        [sys.executable, "-m", "openconnector.cli", "sync", "run", sync["slug"], "--force", "--json"]
        + ["--data-dir", str(context.settings.data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_runs_and_processes_share_one_token(
    context: Context, fake_api: Any, oauth_sync: dict[str, Any]
) -> None:
    first = _run(context, oauth_sync)
    assert first["status"] == "success" and first["result"]["objects"]["created"] == 12
    assert first["result"]["pages"] >= 3  # several calls, one token
    second = _run(context, oauth_sync)
    assert second["status"] == "success"
    assert fake_api.tokens_issued == 1

    for _ in range(2):  # two more processes, as the scheduler's and a worker's would be
        done = _cli_run(context, oauth_sync)
        assert done.returncode == 0, done.stdout + done.stderr
    assert fake_api.tokens_issued == 1
    bearer = {r.headers.get("authorization") for r in fake_api.requests if r.path.startswith("/paged")}
    assert len(bearer) == 1 and next(iter(bearer)).startswith("Bearer access-1-")


def test_the_stored_token_is_encrypted(context: Context, fake_api: Any, oauth_sync: dict[str, Any]) -> None:
    _run(context, oauth_sync)
    with context.db.connect() as conn:
        [row] = conn.execute(select(t.oauth_tokens)).all()
    assert row.token.startswith("enc:v1:")
    assert "access-" not in row.token
    assert context.secrets.decrypt(row.token).startswith("access-1-")


def test_rotating_the_client_secret_drops_the_cached_token(
    context: Context, fake_api: Any, oauth_sync: dict[str, Any]
) -> None:
    with CallService(context) as calls:
        assert calls.call(oauth_sync["sourceId"], "/auth/oauth").status_code == 200
    assert fake_api.tokens_issued == 1
    fake_api.credentials["client_secret"] = "rotated-secret-77"
    EntityService("source", context).update(
        oauth_sync["sourceId"],
        {
            "authenticationConfig": {
                "tokenUrl": f"{fake_api.url}/oauth/token",
                "clientId": fake_api.credentials["client_id"],
                "clientSecret": "rotated-secret-77",
            }
        },
    )
    with CallService(context) as calls:  # a new process would see the same: the old token is not found
        assert calls.call(oauth_sync["sourceId"], "/auth/oauth").status_code == 200
    assert fake_api.tokens_issued == 2
    with context.db.connect() as conn:
        rows = conn.execute(select(t.oauth_tokens)).all()
    assert len(rows) == 1, "the token of the old secret was removed"
    assert context.secrets.decrypt(rows[0].token).startswith("access-2-")


def test_a_revoked_token_is_replaced_once_for_every_process(
    context: Context, fake_api: Any, oauth_sync: dict[str, Any]
) -> None:
    with CallService(context) as calls:
        assert calls.call(oauth_sync["sourceId"], "/auth/oauth").status_code == 200
    fake_api.revoke_tokens()
    with CallService(context) as calls:
        assert calls.call(oauth_sync["sourceId"], "/auth/oauth").status_code == 200
    assert fake_api.tokens_issued == 2
    done = _cli_run(context, oauth_sync)
    assert done.returncode == 0, done.stdout + done.stderr
    assert fake_api.tokens_issued == 2
