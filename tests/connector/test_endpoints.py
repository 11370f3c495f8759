"""Endpoints, rules and consumers through the Python face (``EndpointService().handle``)
and the REST API in-process: matching, CRUD on a register, conditions, mappings,
authentication by API key, basic and JWT, locking, secrets, logs and the CLI."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from sqlalchemy import select

from openconnector import EndpointService
from openconnector.connector.entities import EntityService
from openconnector.store import tables as t

OC = "/index.php/apps/openconnector/api"


def endpoint(context, **fields):
    fields.setdefault("method", "GET")
    fields.setdefault("targetType", "register/schema")
    fields.setdefault("targetId", "dcat/dataset")
    return EntityService("endpoint", context).create({"name": fields["endpoint"], **fields})


def rule(context, **fields):
    return EntityService("rule", context).create({"name": fields["type"], **fields})


def consumer(context, **fields):
    return EntityService("consumer", context).create(fields)


@pytest.fixture
def dcat(context, make_dcat):
    return make_dcat(context)


@pytest.fixture
def any_dcat(any_context, make_dcat):
    """The same on SQLite and on PostgreSQL."""
    return make_dcat(any_context)


def test_crud_on_a_register_with_the_register_error_shape(any_dcat):
    dcat = any_dcat
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        endpoint(dcat, endpoint="items/{{id}}", method=method)
    service = EndpointService(dcat)

    created = service.handle("POST", "items", body={"title": "Fietsen", "status": "Concept"})
    assert created.status == 201 and created.body["title"] == "Fietsen"
    uuid = created.body["id"]
    assert service.handle("GET", f"items/{uuid}").body["status"] == "Concept"

    patched = service.handle("PATCH", f"items/{uuid}", body={"status": "Published"})
    assert (
        patched.status == 200 and patched.body["title"] == "Fietsen" and patched.body["status"] == "Published"
    )
    replaced = service.handle("PUT", f"items/{uuid}", body={"title": "Auto's"})
    assert replaced.body["title"] == "Auto's" and "status" not in replaced.body

    invalid = service.handle("POST", "items", body={"title": "x", "status": "Unknown"})
    assert invalid.status == 400 and invalid.body["error"] == "Validation failed"
    assert invalid.body["errors"][0]["property"] == "status"
    assert service.handle("PUT", "items", body={"title": "x"}).status == 400  # no id

    assert service.handle("DELETE", f"items/{uuid}").status == 204
    gone = service.handle("GET", f"items/{uuid}")
    assert gone.status == 404

    nothing = service.handle("GET", "elsewhere")
    assert nothing.status == 404 and "elsewhere GET" in nothing.body["message"]


def test_conditions_must_hold_and_name_their_fields(dcat):
    endpoint(
        dcat,
        endpoint="search",
        conditions={"!!": {"var": "parameters._search"}},
    )
    service = EndpointService(dcat)
    refused = service.handle("GET", "search")
    assert refused.status == 400
    assert refused.body == {
        "error": "The following parameters are not correctly set",
        "fields": ["parameters._search"],
    }
    assert service.handle("GET", "search", query=[("_search", "x")]).status == 200


def test_input_and_output_mappings(dcat):
    mappings = EntityService("mapping", dcat)
    intake = mappings.create({"name": "In", "mapping": {"title": "{{ naam }}"}})
    out = mappings.create({"name": "Out", "mapping": {"naam": "title", "id": "id"}})
    endpoint(dcat, endpoint="in", method="POST", inputMapping=intake["id"], outputMapping=out["id"])
    endpoint(dcat, endpoint="out", outputMapping=out["uuid"])
    service = EndpointService(dcat)
    made = service.handle("POST", "in", body={"naam": "Bomen"})
    assert made.status == 201 and made.body["naam"] == "Bomen" and "title" not in made.body
    listed = service.handle("GET", "out").body
    assert listed["count"] == 1 and listed["results"] == [{"naam": "Bomen", "id": made.body["id"]}]


def test_mapping_rule_after_maps_each_result_and_defaults_status(dcat):
    out = EntityService("mapping", dcat).create({"name": "Titles", "mapping": {"t": "title"}})
    after = rule(dcat, type="mapping", timing="after", configuration={"mapping": out["id"]})
    endpoint(dcat, endpoint="titles", rules=[after["uuid"]], configurations={"defaultStatusCode": 203})
    service = EndpointService(dcat)
    service.handle("POST", "nowhere")  # 404 does not matter
    EndpointService(dcat).objects.save_object({"title": "A"}, "dcat", "dataset")
    answer = service.handle("GET", "titles")
    assert answer.status == 203 and answer.body["results"] == [{"t": "A"}]


def test_api_key_rule_accepts_its_own_keys_encrypted_at_rest(dcat):
    guard = rule(
        dcat,
        type="authentication",
        configuration={"authentication": {"type": "apikey", "keys": ["own-key-1"], "header": "X-Api-Key"}},
    )
    assert guard["configuration"]["authentication"]["keys"] == ["********"]
    with dcat.db.connect() as conn:
        stored = conn.execute(
            select(t.objects.c.object).where(t.objects.c.uuid == guard["uuid"])
        ).scalar_one()
    stored = stored if isinstance(stored, dict) else json.loads(stored)
    assert stored["configuration"]["authentication"]["keys"][0].startswith("enc:v1:")
    endpoint(dcat, endpoint="guarded", rules=[guard["id"]])
    service = EndpointService(dcat)
    assert service.handle("GET", "guarded", headers={"X-Api-Key": "own-key-1"}).status == 200
    assert service.handle("GET", "guarded", headers={"X-Api-Key": "other"}).status == 401
    missing = service.handle("GET", "guarded")
    assert missing.status == 401 and "X-Api-Key" in missing.body["message"]
    # Saving the rule again with the masked key keeps the real one.
    EntityService("rule", dcat).update(
        guard["id"], {"description": "edited", **{"configuration": guard["configuration"]}}
    )
    assert EndpointService(dcat).handle("GET", "guarded", headers={"X-Api-Key": "own-key-1"}).status == 200


def test_basic_consumers_and_their_ips(dcat):
    consumer(
        dcat,
        name="loket",
        authorizationType="basic",
        authorizationConfiguration={"password": "geheim"},
        ips=["10.0.0.0/8"],
    )
    guard = rule(dcat, type="authentication", configuration={"authentication": {"type": "basic"}})
    endpoint(dcat, endpoint="basic", rules=[guard["id"]])
    service = EndpointService(dcat)
    good = "Basic " + base64.b64encode(b"loket:geheim").decode()
    bad = "Basic " + base64.b64encode(b"loket:fout").decode()
    assert service.handle("GET", "basic", headers={"Authorization": good}, client="10.1.2.3").status == 200
    assert service.handle("GET", "basic", headers={"Authorization": bad}, client="10.1.2.3").status == 401
    elsewhere = service.handle("GET", "basic", headers={"Authorization": good}, client="192.168.1.1")
    assert elsewhere.status == 403 and "192.168.1.1" in elsewhere.body["message"]


def test_jwt_consumers_hs256_and_rs256(dcat):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    consumer(
        dcat,
        name="hs-app",
        authorizationType="jwt",
        authorizationConfiguration={"publicKey": "a-shared-secret-of-32-bytes-long!", "algorithm": "HS256"},
    )
    consumer(
        dcat,
        name="rs-app",
        authorizationType="jwt",
        authorizationConfiguration={"publicKey": public_pem, "algorithm": "RS256"},
    )
    guard = rule(dcat, type="authentication", configuration={"authentication": {"type": "jwt"}})
    endpoint(dcat, endpoint="jwt", rules=[guard["id"]])
    service = EndpointService(dcat)
    now = int(time.time())

    def call(token: str):  # type: ignore[no-untyped-def]
        return service.handle("GET", "jwt", headers={"Authorization": f"Bearer {token}"})

    hs = jwt.encode({"iss": "hs-app", "iat": now}, "a-shared-secret-of-32-bytes-long!", algorithm="HS256")
    assert call(hs).status == 200 and call(hs).consumer == "hs-app"
    rs = jwt.encode({"iss": "rs-app", "iat": now, "exp": now + 60}, private, algorithm="RS256")
    assert call(rs).status == 200
    expired = jwt.encode({"iss": "rs-app", "iat": now - 120, "exp": now - 60}, private, algorithm="RS256")
    assert call(expired).status == 401 and "expired" in call(expired).body["message"]
    stale = jwt.encode(
        {"iss": "hs-app", "iat": now - 7200}, "a-shared-secret-of-32-bytes-long!", algorithm="HS256"
    )
    assert "expired" in call(stale).body["message"]
    no_iat = jwt.encode({"iss": "hs-app"}, "a-shared-secret-of-32-bytes-long!", algorithm="HS256")
    assert "iat" in call(no_iat).body["message"]
    forged = jwt.encode({"iss": "hs-app", "iat": now}, "another-secret-of-32-bytes-long!!", algorithm="HS256")
    assert call(forged).status == 401
    stranger = jwt.encode({"iss": "nobody", "iat": now}, "x" * 32, algorithm="HS256")
    assert "nobody" in call(stranger).body["message"]


def test_locking_answers_423_to_other_writers(any_dcat):
    dcat = any_dcat
    lock = rule(dcat, type="locking", configuration={"locking": {"action": "lock", "duration": 600}})
    key_a = rule(
        dcat,
        type="authentication",
        order=0,
        configuration={"authentication": {"type": "apikey", "consumers": ["a", "b"]}},
    )
    consumer(dcat, name="a", authorizationType="apiKey", authorizationConfiguration={"key": "key-a"})
    consumer(dcat, name="b", authorizationType="apiKey", authorizationConfiguration={"key": "key-b"})
    endpoint(
        dcat, endpoint="items/{{id}}/lock", method="POST", targetType="none", rules=[key_a["id"], lock["id"]]
    )
    endpoint(dcat, endpoint="items/{{id}}", method="PATCH", rules=[key_a["id"]])
    service = EndpointService(dcat)
    item = service.objects.save_object({"title": "Shared"}, "dcat", "dataset")
    locked = service.handle("POST", f"items/{item['id']}/lock", headers={"Authorization": "key-a"})
    assert locked.status == 200 and locked.body["locked"] is True and locked.body["holder"] == "a"
    other = service.handle(
        "PATCH", f"items/{item['id']}", body={"title": "B"}, headers={"Authorization": "key-b"}
    )
    assert other.status == 423 and other.body["error"] == "Locked"
    mine = service.handle(
        "PATCH", f"items/{item['id']}", body={"title": "A"}, headers={"Authorization": "key-a"}
    )
    assert mine.status == 200 and mine.body["title"] == "A"


def test_consumer_secrets_are_masked_and_rule_types_checked(client, context):
    made = client.post(
        f"{OC}/consumers",
        json={
            "name": "c",
            "authorizationType": "basic",
            "authorizationConfiguration": {"username": "u", "password": "p"},
        },
    ).json()
    assert made["authorizationConfiguration"] == {"username": "u", "password": "********"}
    assert (
        client.get(f"{OC}/consumers/{made['id']}").json()["authorizationConfiguration"]["password"]
        == "********"
    )
    bad = client.post(f"{OC}/rules", json={"name": "r", "type": "javascript"})
    assert bad.status_code == 400 and "javascript" in bad.json()["message"]
    bad_pattern = client.post(f"{OC}/endpoints", json={"name": "e", "endpoint": "a/{b}/c"})
    assert bad_pattern.status_code == 400 and bad_pattern.json()["field"] == "endpoint"


def test_endpoint_test_command(dcat):
    from typer.testing import CliRunner

    from openconnector.cli import _load_extensions, app

    _load_extensions()
    endpoint(dcat, endpoint="datasets")
    EndpointService(dcat).objects.save_object({"title": "Via CLI"}, "dcat", "dataset")
    result = CliRunner().invoke(
        app,
        [
            "endpoint",
            "test",
            "datasets",
            "--method",
            "GET",
            "--path",
            "datasets?_limit=1",
            "--data-dir",
            str(dcat.settings.data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "200" in result.output and "Via CLI" in result.output
    missing = CliRunner().invoke(
        app,
        [
            "endpoint",
            "test",
            "datasets",
            "--path",
            "datasets/nope",
            "--data-dir",
            str(dcat.settings.data_dir),
        ],
    )
    assert missing.exit_code == 1 and "404" in missing.output


def test_a_broken_mapping_rule_answers_a_clear_error_not_a_trace(dcat):
    broken = EntityService("mapping", dcat).create(
        {"name": "Broken", "mapping": {"title": "{{ name|nosuchfilter }}"}}
    )
    mapper = rule(dcat, type="mapping", configuration={"mapping": broken["id"]})
    endpoint(dcat, endpoint="broken", method="POST", targetType="none", rules=[mapper["id"]])
    answer = EndpointService(dcat).handle("POST", "broken", body={"name": "x"})
    assert 400 <= answer.status < 600 and answer.status != 500
    assert answer.body["error"] == "Mapping error" and "Traceback" not in json.dumps(answer.body)


def test_consumer_domains_limit_browser_origins(dcat):
    consumer(
        dcat,
        name="site",
        authorizationType="apiKey",
        authorizationConfiguration={"key": "site-key"},
        domains=["gemeente.nl"],
    )
    guard = rule(dcat, type="authentication", configuration={"authentication": {"type": "apikey"}})
    endpoint(dcat, endpoint="site", rules=[guard["id"]])
    service = EndpointService(dcat)
    ok = service.handle(
        "GET", "site", headers={"Authorization": "site-key", "Origin": "https://www.gemeente.nl"}
    )
    assert ok.status == 200 and ok.headers["Access-Control-Allow-Origin"] == "https://www.gemeente.nl"
    other = service.handle(
        "GET", "site", headers={"Authorization": "site-key", "Origin": "https://evil.example"}
    )
    assert other.status == 403


def test_old_endpoint_logs_are_purged(any_dcat, monkeypatch):
    dcat = any_dcat
    from openconnector.connector import endpoint_logs

    endpoint(dcat, endpoint="logged")
    service = EndpointService(dcat)
    service.handle("GET", "logged")
    service.logs.flush()
    with dcat.db.begin() as conn:
        conn.execute(t.endpoint_logs.update().values(created="2020-01-01T00:00:00+00:00"))
    monkeypatch.setattr(endpoint_logs, "PURGE_SECONDS", 0.0)
    service.handle("GET", "logged")
    service.logs.flush()
    listed = endpoint_logs.list_logs(dcat, [])
    assert listed["total"] == 1 and listed["results"][0]["created"] > "2020-01-02"


def test_the_rest_try_route_sends_a_request_through_an_endpoint(client, dcat):
    made = endpoint(dcat, endpoint="items/{{id}}")
    tried = client.post(f"{OC}/endpoints/test/{made['id']}", json={"path": "items"}).json()
    assert tried["statusCode"] == 200 and tried["body"]["count"] == 0 and tried["endpoint"] == "items/{{id}}"
    unfilled = client.post(f"{OC}/endpoints/test/{made['id']}", json={})
    assert unfilled.status_code == 400 and unfilled.json()["field"] == "path"
    assert client.post(f"{OC}/endpoints/test/{made['id']}", json={}, auth=None).status_code == 401
