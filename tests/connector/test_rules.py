"""Endpoint rules (``connector/rules.py``), one behaviour a caller or the person configuring
an endpoint would notice per test: who authentication admits and how it refuses, what
an ``error`` rule answers, what ``mapping``, ``synchronization``, ``save_object`` and
``locking`` rules do to a request, and when a rule runs at all (conditions, order, timing).

Everything goes through ``EndpointService().handle`` on a real SQLite file with the
tutorial's DCAT register (the ``dcat`` fixture) and entities saved as a user saves them.
"""

from __future__ import annotations

import base64
import shutil
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from test_endpoints import consumer, endpoint, rule

from openconnector import EndpointService
from openconnector.connector.entities import REGISTER, EntityService
from openconnector.context import Context, set_context

SECRET = "a-shared-secret-of-32-bytes-long!"
REALM = 'realm="openconnector endpoint"'


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """Where the first test's freshly migrated data directory is kept for the others."""
    return tmp_path_factory.mktemp("migrated") / "data"


@pytest.fixture
def context(settings, migrated):
    """The ``context`` of ``tests/conftest.py`` (a migrated instance on a SQLite file of its
    own), but migrated once per module and copied: this file runs once per mutant."""
    if migrated.exists():
        shutil.copytree(migrated, settings.data_dir)
        made = Context(settings, migrate=False)
    else:
        Context(settings).close()
        shutil.copytree(settings.data_dir, migrated)
        made = Context(settings, migrate=False)
    set_context(made)
    try:
        yield made
    finally:
        set_context(None)
        made.close()


@pytest.fixture
def dcat(context, make_dcat):
    return make_dcat(context)


def basic(credentials: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode()}


def guarded(context, auth, pattern="guarded", **fields):
    """An endpoint on the DCAT datasets behind one authentication rule configured with ``auth``."""
    guard = rule(context, type="authentication", configuration={"authentication": auth})
    return endpoint(context, endpoint=pattern, rules=[guard["id"]], **fields)


def keyed(context, name, key, **fields):
    """A consumer admitted by the API key ``key`` (``fields``: its ``ips``, ``domains``...)."""
    return consumer(
        context, name=name, authorizationType="apiKey", authorizationConfiguration={"key": key}, **fields
    )


def call_guarded(context, headers=None):
    """``GET guarded`` (the endpoint :func:`guarded` made), with these request headers."""
    return EndpointService(context).handle("GET", "guarded", headers=headers or {})


def refusal(message: str) -> dict[str, str]:
    return {"error": "Unauthorized", "message": message, "details": message}


def legacy_rule(context, **fields):
    """A rule written before rule types were checked (straight into the entity register)."""
    saved = EndpointService(context).objects.save_object({"name": "legacy", **fields}, REGISTER, "rule")
    return saved["id"]


# -- authentication: API keys -----------------------------------------------------------


def test_a_missing_api_key_is_refused_naming_the_authorization_header(dcat):
    guarded(dcat, {"type": "apikey", "keys": ["k"]})
    answer = call_guarded(dcat)
    assert answer.status == 401
    assert answer.body == refusal("Missing API key: send it in the Authorization header")
    assert answer.headers["WWW-Authenticate"] == f"ApiKey {REALM}"


def test_an_invalid_api_key_is_refused_with_the_apikey_challenge(dcat):
    guarded(dcat, {"type": "apikey", "keys": ["k"]})
    answer = call_guarded(dcat, {"Authorization": "not-k"})
    assert answer.status == 401 and answer.body == refusal("Invalid API key")
    assert answer.headers == {"WWW-Authenticate": f"ApiKey {REALM}"}


def test_an_api_key_is_read_only_from_the_configured_header(dcat):
    guarded(dcat, {"type": "apikey", "keys": ["k"], "header": "X-Api-Key"})
    service = EndpointService(dcat)
    elsewhere = service.handle("GET", "guarded", headers={"Authorization": "k"})
    assert elsewhere.status == 401
    assert elsewhere.body["message"] == "Missing API key: send it in the X-Api-Key header"
    assert service.handle("GET", "guarded", headers={"x-api-key": "k"}).status == 200


@pytest.mark.parametrize("sent", ["Bearer k-1", "bearer k-1", "ApiKey k-1", "APIKEY  k-1"])
def test_a_bearer_or_apikey_prefix_before_the_key_is_ignored(dcat, sent):
    guarded(dcat, {"type": "apikey", "keys": ["k-1"]})
    assert call_guarded(dcat, {"Authorization": sent}).status == 200


def test_any_of_the_rules_own_keys_admits_as_the_rule_key(dcat):
    keyed(dcat, "owner", "k-2")
    guarded(dcat, {"type": "apikey", "keys": ["", "k-1", "k-2"]})
    answer = call_guarded(dcat, {"Authorization": "k-2"})
    assert answer.status == 200 and answer.consumer == "rule key"


def test_an_empty_key_in_the_rule_admits_no_empty_key(dcat):
    guarded(dcat, {"type": "apikey", "keys": [""]})
    answer = call_guarded(dcat, {"Authorization": "Bearer "})
    assert answer.status == 401 and answer.body["message"] == "Invalid API key"


@pytest.mark.parametrize(
    ("kind", "field"), [("apiKey", "key"), ("apiKey", "apiKey"), ("bearer", "token"), ("apiKey", "token")]
)
def test_an_api_key_consumer_is_admitted_by_each_key_field(dcat, kind, field):
    consumer(dcat, name="loket", authorizationType=kind, authorizationConfiguration={field: "loket-key"})
    guarded(dcat, {"type": "apikey"})
    answer = call_guarded(dcat, {"Authorization": "loket-key"})
    assert answer.status == 200 and answer.consumer == "loket"


def test_a_consumer_with_an_empty_key_admits_no_empty_key(dcat):
    keyed(dcat, "blank", "")
    guarded(dcat, {"type": "apikey"})
    answer = call_guarded(dcat, {"Authorization": "Bearer "})
    assert answer.status == 401 and answer.body["message"] == "Invalid API key"


def test_the_consumer_whose_key_matches_is_the_one_recorded(dcat):
    for name in ("a", "b"):
        keyed(dcat, name, f"key-{name}")
    guarded(dcat, {"type": "apikey"})
    answer = call_guarded(dcat, {"Authorization": "key-b"})
    assert answer.status == 200 and answer.consumer == "b"


def test_an_api_key_is_matched_past_consumers_of_other_types(dcat):
    consumer(
        dcat,
        name="basic-one",
        authorizationType="basic",
        authorizationConfiguration={"username": "u", "password": "p"},
    )
    keyed(dcat, "keyed", "k-9")
    guarded(dcat, {"type": "apikey", "consumers": ["basic-one", "keyed"]})
    answer = call_guarded(dcat, {"Authorization": "k-9"})
    assert answer.status == 200 and answer.consumer == "keyed"


def test_a_consumer_of_another_authorization_type_is_not_admitted_by_its_key(dcat):
    consumer(dcat, name="basic-one", authorizationType="basic", authorizationConfiguration={"key": "k"})
    guarded(dcat, {"type": "apikey"})
    answer = call_guarded(dcat, {"Authorization": "k"})
    assert answer.status == 401 and answer.body["message"] == "Invalid API key"


def test_only_the_consumers_the_rule_names_are_admitted(dcat):
    a = keyed(dcat, "a", "key-a")
    b = keyed(dcat, "b", "key-b")
    keyed(dcat, "c", "key-c")
    guarded(dcat, {"type": "apikey", "consumers": [a["uuid"], b["id"]]})
    service = EndpointService(dcat)
    assert service.handle("GET", "guarded", headers={"Authorization": "key-a"}).consumer == "a"
    assert service.handle("GET", "guarded", headers={"Authorization": "key-b"}).consumer == "b"
    assert service.handle("GET", "guarded", headers={"Authorization": "key-c"}).status == 401


def test_a_rule_may_name_a_single_consumer_by_slug(dcat):
    keyed(dcat, "Gemeente Voorbeeld", "v")
    keyed(dcat, "Other", "o")
    guarded(dcat, {"type": "apikey", "consumers": "gemeente-voorbeeld"})
    service = EndpointService(dcat)
    assert service.handle("GET", "guarded", headers={"Authorization": "v"}).consumer == "Gemeente Voorbeeld"
    assert service.handle("GET", "guarded", headers={"Authorization": "o"}).status == 401


def test_authentication_defaults_to_api_keys(dcat):
    keyed(dcat, "a", "key-a")
    guard = rule(dcat, type="authentication", configuration={})
    endpoint(dcat, endpoint="guarded", rules=[guard["id"]])
    service = EndpointService(dcat)
    assert service.handle("GET", "guarded").headers["WWW-Authenticate"] == f"ApiKey {REALM}"
    assert service.handle("GET", "guarded", headers={"Authorization": "key-a"}).consumer == "a"


# -- authentication: basic ----------------------------------------------------------------


@pytest.fixture
def loket(dcat):
    consumer(
        dcat,
        name="loket",
        authorizationType="basic",
        authorizationConfiguration={"username": "svc-loket", "password": "ge:heim"},
    )
    guarded(dcat, {"type": "basic"})
    return EndpointService(dcat)


def test_basic_credentials_admit_the_consumer_with_that_username(loket):
    answer = loket.handle("GET", "guarded", headers=basic(b"svc-loket:ge:heim"))
    assert answer.status == 200 and answer.consumer == "loket"


def test_basic_accepts_the_scheme_in_any_case(loket):
    sent = {"Authorization": "BASIC " + base64.b64encode(b"svc-loket:ge:heim").decode()}
    assert loket.handle("GET", "guarded", headers=sent).status == 200


def test_basic_without_a_username_uses_the_consumer_name(dcat):
    consumer(dcat, name="loket", authorizationType="basic", authorizationConfiguration={"password": "pw"})
    guarded(dcat, {"type": "basic"})
    answer = call_guarded(dcat, basic(b"loket:pw"))
    assert answer.status == 200 and answer.consumer == "loket"


@pytest.mark.parametrize(
    "credentials",
    [b"svc-loket:geheim", b"svc-loket:ge:heim ", b"loket:ge:heim", b"nobody:ge:heim", b"svc-loket"],
    ids=["wrong password", "password plus a space", "consumer name", "unknown user", "no colon"],
)
def test_basic_refuses_wrong_credentials_with_one_message(loket, credentials):
    answer = loket.handle("GET", "guarded", headers=basic(credentials))
    assert answer.status == 401 and answer.body == refusal("Wrong username or password")
    assert answer.headers["WWW-Authenticate"] == f"Basic {REALM}"


@pytest.mark.parametrize("sent", [None, "Bearer abc", "Basi"], ids=["none", "bearer", "short"])
def test_basic_refuses_a_request_without_basic_credentials(loket, sent):
    answer = loket.handle("GET", "guarded", headers={"Authorization": sent} if sent else {})
    assert answer.status == 401
    assert answer.body == refusal("Missing Basic credentials in the Authorization header")
    assert answer.headers["WWW-Authenticate"] == f"Basic {REALM}"


@pytest.mark.parametrize(
    "sent",
    [
        "Basic not*base64",
        "Basic " + base64.b64encode(b"svc-loket:ge:heim").decode() + "*",
        "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),
    ],
    ids=["not base64", "valid credentials then junk", "not utf-8"],
)
def test_basic_refuses_a_malformed_header(loket, sent):
    answer = loket.handle("GET", "guarded", headers={"Authorization": sent})
    assert answer.status == 401
    assert answer.body == refusal("The Authorization header is not valid Basic credentials")
    assert answer.headers["WWW-Authenticate"] == f"Basic {REALM}"


@pytest.mark.parametrize("configuration", [{}, {"password": ""}], ids=["no password", "empty password"])
def test_basic_never_admits_a_consumer_without_a_password(dcat, configuration):
    consumer(
        dcat,
        name="open",
        authorizationType="basic",
        authorizationConfiguration={"username": "open", **configuration},
    )
    guarded(dcat, {"type": "basic"})
    answer = call_guarded(dcat, basic(b"open:"))
    assert answer.status == 401 and answer.body["message"] == "Wrong username or password"


def test_basic_looks_past_other_consumers_to_the_one_whose_credentials_match(dcat):
    keyed(dcat, "keyed", "k")
    for name in ("first", "second"):
        consumer(
            dcat,
            name=name,
            authorizationType="basic",
            authorizationConfiguration={"username": name, "password": f"pw-{name}"},
        )
    guarded(dcat, {"type": "basic", "consumers": ["keyed", "first", "second"]})
    answer = call_guarded(dcat, basic(b"second:pw-second"))
    assert answer.status == 200 and answer.consumer == "second"


def test_basic_ignores_api_key_consumers(dcat):
    consumer(
        dcat,
        name="keyed",
        authorizationType="apiKey",
        authorizationConfiguration={"username": "keyed", "password": "pw"},
    )
    guarded(dcat, {"type": "basic"})
    answer = call_guarded(dcat, basic(b"keyed:pw"))
    assert answer.status == 401


# -- authentication: JWT ------------------------------------------------------------------


@pytest.fixture
def signed(dcat):
    consumer(
        dcat,
        name="hs-app",
        authorizationType="jwt",
        authorizationConfiguration={"secret": SECRET, "algorithm": "HS256"},
    )
    guarded(dcat, {"type": "jwt"})
    service = EndpointService(dcat)

    def call(claims, key=SECRET, scheme="Bearer"):  # type: ignore[no-untyped-def]
        token = jwt.encode({"iat": int(time.time()), **claims}, key, algorithm="HS256")
        return service.handle("GET", "guarded", headers={"Authorization": f"{scheme} {token}"})

    return call


def test_a_jwt_admits_the_consumer_its_issuer_names(signed):
    answer = signed({"iss": "hs-app"})
    assert answer.status == 200 and answer.consumer == "hs-app"


def test_the_bearer_scheme_of_a_jwt_may_be_lower_case(signed):
    assert signed({"iss": "hs-app"}, scheme="bearer").status == 200


def test_a_request_without_a_bearer_token_is_refused_with_the_bearer_challenge(dcat, signed):
    answer = call_guarded(dcat, basic(b"hs-app:x"))
    assert answer.status == 401
    assert answer.body == refusal("Missing JWT: send Authorization: Bearer <token>")
    assert answer.headers["WWW-Authenticate"] == f"Bearer {REALM}"


def test_a_jwt_signed_with_another_key_is_refused(signed):
    answer = signed({"iss": "hs-app"}, key="another-secret-of-32-bytes-long!!")
    assert answer.status == 401 and answer.body["message"].startswith("The token is not valid")
    assert answer.headers["WWW-Authenticate"] == f"Bearer {REALM}"


def test_an_expired_jwt_is_refused(signed):
    now = int(time.time())
    answer = signed({"iss": "hs-app", "iat": now - 600, "exp": now - 300})
    assert answer.status == 401 and answer.body == refusal("The token has expired")


def test_a_jwt_from_an_unknown_issuer_is_refused_naming_it(signed):
    answer = signed({"iss": "stranger"})
    assert answer.status == 401
    assert answer.body == refusal("No JWT consumer named 'stranger' may use this endpoint")


def test_a_jwt_rule_admits_only_the_consumers_it_names(dcat):
    for name in ("one", "two"):
        consumer(
            dcat, name=name, authorizationType="jwt", authorizationConfiguration={"secret": SECRET + name}
        )
    guarded(dcat, {"type": "jwt", "consumers": ["two"]})
    service = EndpointService(dcat)

    def call(name):  # type: ignore[no-untyped-def]
        token = jwt.encode({"iss": name, "iat": int(time.time())}, SECRET + name, algorithm="HS256")
        return service.handle("GET", "guarded", headers={"Authorization": f"Bearer {token}"})

    assert call("two").consumer == "two"
    refused = call("one")
    assert refused.status == 401 and "'one'" in refused.body["message"]


def test_a_jwt_zgw_rule_checks_jwts_too(dcat):
    consumer(dcat, name="zgw", authorizationType="jwt", authorizationConfiguration={"secret": SECRET})
    guarded(dcat, {"type": "JWT-ZGW"})
    token = jwt.encode({"iss": "zgw", "iat": int(time.time())}, SECRET, algorithm="HS256")
    service = EndpointService(dcat)
    assert service.handle("GET", "guarded", headers={"Authorization": f"Bearer {token}"}).consumer == "zgw"
    assert service.handle("GET", "guarded").headers["WWW-Authenticate"] == f"Bearer {REALM}"


def test_a_jwt_consumer_is_held_to_its_ip_allow_list(dcat):
    consumer(
        dcat,
        name="hs-app",
        authorizationType="jwt",
        authorizationConfiguration={"secret": SECRET},
        ips=["10.0.0.0/8"],
    )
    guarded(dcat, {"type": "jwt"})
    token = jwt.encode({"iss": "hs-app", "iat": int(time.time())}, SECRET, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    service = EndpointService(dcat)
    assert service.handle("GET", "guarded", headers=headers, client="10.9.9.9").status == 200
    assert service.handle("GET", "guarded", headers=headers, client="11.0.0.1").status == 403


def test_an_authentication_type_nothing_implements_answers_501(dcat):
    legacy = legacy_rule(dcat, type="authentication", configuration={"authentication": {"type": "OAuth"}})
    endpoint(dcat, endpoint="guarded", rules=[legacy])
    answer = call_guarded(dcat, {"Authorization": "x"})
    assert answer.status == 501
    assert answer.body == {"error": "Not Implemented", "message": "Authentication type 'oauth'"}


# -- consumers: IP addresses and domains --------------------------------------------------


def ip_guarded(context, ips):
    keyed(context, "loket", "k", ips=ips)
    guarded(context, {"type": "apikey"})
    service = EndpointService(context)
    return lambda client: service.handle("GET", "guarded", headers={"Authorization": "k"}, client=client)


def test_a_consumer_calls_from_any_address_in_its_cidr_ranges(dcat):
    call = ip_guarded(dcat, ["192.168.10.0/24", "10.0.0.0/8"])
    assert call("10.200.1.1").status == 200
    assert call("192.168.10.254").status == 200


def test_a_consumer_calling_from_outside_its_addresses_gets_403_naming_the_address(dcat):
    call = ip_guarded(dcat, ["192.168.10.0/24", "10.0.0.5"])
    answer = call("192.168.11.1")
    assert answer.status == 403
    assert answer.body == {"error": "Forbidden", "message": "Consumer 'loket' may not call from 192.168.11.1"}
    assert "WWW-Authenticate" not in answer.headers
    assert call("10.0.0.6").status == 403


@pytest.mark.parametrize(
    ("listed", "inside", "outside"),
    [
        ("10.0.0.5", "10.0.0.5", "10.0.0.4"),
        ("10.0.0.5/30", "10.0.0.7", "10.0.0.8"),
        ("2001:db8::/32", "2001:db8:1::7", "2001:db9::1"),
    ],
    ids=["a single address: exactly it", "a host address with a prefix: its whole network", "IPv6 ranges"],
)
def test_a_listed_address_or_range_admits_its_addresses_only(dcat, listed, inside, outside):
    call = ip_guarded(dcat, [listed])
    assert call(inside).status == 200
    assert call(outside).status == 403


def test_a_request_without_a_client_address_is_refused_when_addresses_are_listed(dcat):
    answer = ip_guarded(dcat, ["10.0.0.0/8"])(None)
    assert answer.status == 403 and answer.body["message"] == "Consumer 'loket' may not call from "


def test_a_client_that_is_not_an_address_must_be_listed_as_written(dcat):
    call = ip_guarded(dcat, ["testclient", "10.0.0.0/8"])
    assert call("testclient").status == 200
    assert call("otherclient").status == 403


def test_blank_addresses_do_not_restrict_a_consumer(dcat):
    assert ip_guarded(dcat, ["", "  "])("203.0.113.9").status == 200


def domain_guarded(context, domains):
    keyed(context, "site", "k", domains=domains)
    guarded(context, {"type": "apikey"})
    service = EndpointService(context)
    return lambda **headers: service.handle("GET", "guarded", headers={"Authorization": "k", **headers})


def test_a_consumer_with_domains_is_called_from_those_domains_and_their_subdomains(dcat):
    call = domain_guarded(dcat, ["Gemeente.NL"])
    assert call(Origin="https://gemeente.nl").status == 200
    assert call(Origin="https://www.GEMEENTE.nl:8443").status == 200


def test_an_origin_outside_the_consumers_domains_gets_403_naming_the_host(dcat):
    call = domain_guarded(dcat, ["gemeente.nl"])
    answer = call(Origin="https://nepgemeente.nl")
    assert answer.status == 403
    assert answer.body == {
        "error": "Forbidden",
        "message": "Consumer 'site' may not call from nepgemeente.nl",
    }
    assert call(Origin="https://gemeente.nl.evil.example").status == 403


def test_the_referer_counts_when_there_is_no_origin(dcat):
    call = domain_guarded(dcat, ["gemeente.nl"])
    assert call(Referer="https://loket.gemeente.nl/form").status == 200
    assert call(Referer="https://evil.example/form").status == 403


def test_a_request_without_origin_or_referer_is_not_held_to_the_domains(dcat):
    assert domain_guarded(dcat, ["gemeente.nl"])().status == 200


def test_blank_domains_do_not_restrict_a_consumer(dcat):
    assert domain_guarded(dcat, [""])(Origin="https://anywhere.example").status == 200


# -- the error rule -----------------------------------------------------------------------


def erroring(context, spec, **fields):
    refuse = rule(context, type="error", name="Stop", configuration={"error": spec} if spec else {}, **fields)
    endpoint(context, endpoint="intake", method="POST", targetType="none", rules=[refuse["id"]])
    return EndpointService(context)


def test_an_error_rule_answers_its_code_name_and_message(dcat):
    service = erroring(dcat, {"code": 422, "name": "Rejected", "message": "No test data"})
    answer = service.handle("POST", "intake", body={"naam": "x"})
    assert answer.status == 422 and answer.body == {"error": "Rejected", "message": "No test data"}


def test_an_error_rule_without_configuration_answers_500_naming_the_rule(dcat):
    answer = erroring(dcat, None).handle("POST", "intake", body={})
    assert answer.status == 500
    assert answer.body == {"error": "Internal Server Error", "message": "Refused by rule 'Stop'"}


def test_an_error_rule_without_a_name_uses_the_status_phrase(dcat):
    answer = erroring(dcat, {"code": 404, "message": "Gone fishing"}).handle("POST", "intake", body={})
    assert answer.status == 404 and answer.body == {"error": "Not Found", "message": "Gone fishing"}


def test_an_error_rule_includes_the_list_its_conditions_returned(dcat):
    service = erroring(
        dcat,
        {"code": 400, "name": "Incomplete", "message": "Fields missing", "includeJsonLogicResult": True},
        conditions={"missing": ["body.naam", "body.soort", "body.datum"]},
    )
    answer = service.handle("POST", "intake", body={"soort": "x"})
    assert answer.status == 400
    assert answer.body == {
        "error": "Incomplete",
        "message": "Fields missing",
        "errors": ["body.naam", "body.datum"],
    }
    assert service.handle("POST", "intake", body={"naam": "a", "soort": "b", "datum": "c"}).status == 200


def test_an_error_rule_leaves_out_the_conditions_result_unless_asked(dcat):
    service = erroring(
        dcat, {"code": 400, "message": "Fields missing"}, conditions={"missing": ["body.naam"]}
    )
    answer = service.handle("POST", "intake", body={})
    assert answer.body == {"error": "Bad Request", "message": "Fields missing"}


def test_an_error_rule_without_conditions_includes_no_result(dcat):
    service = erroring(dcat, {"code": 403, "includeJsonLogicResult": True})
    answer = service.handle("POST", "intake", body={})
    assert answer.body == {"error": "Forbidden", "message": "Refused by rule 'Stop'", "errors": None}


# -- conditions -------------------------------------------------------------------------


def test_a_rule_whose_conditions_hold_runs(dcat):
    service = erroring(dcat, {"code": 409}, conditions={"==": [{"var": "parameters.mode"}, "strict"]})
    assert service.handle("POST", "intake", body={}, query=[("mode", "strict")]).status == 409


def test_a_rule_whose_conditions_do_not_hold_is_skipped(dcat):
    service = erroring(dcat, {"code": 409}, conditions={"==": [{"var": "parameters.mode"}, "strict"]})
    answer = service.handle("POST", "intake", body={"naam": "x"}, query=[("mode", "lax")])
    assert answer.status == 200 and answer.body == {"naam": "x"}


@pytest.mark.parametrize("conditions", [{}, [], ""], ids=["empty object", "empty list", "empty text"])
def test_a_rule_with_empty_conditions_always_runs(dcat, conditions):
    service = erroring(dcat, {"code": 409}, conditions=conditions)
    assert service.handle("POST", "intake", body={}).status == 409


@pytest.mark.parametrize(("flag", "status"), [("false", 200), ("0", 200), ("", 200), ("yes", 409)])
def test_the_strings_false_and_0_do_not_make_a_rule_run(dcat, flag, status):
    service = erroring(dcat, {"code": 409}, conditions={"var": "headers.x-flag"})
    assert service.handle("POST", "intake", body={}, headers={"X-Flag": flag}).status == status


def test_conditions_read_the_method_path_and_consumer(dcat):
    keyed(dcat, "a", "key-a")
    keyed(dcat, "b", "key-b")
    guard = rule(dcat, type="authentication", order=1, configuration={"authentication": {"type": "apikey"}})
    only_a = rule(
        dcat,
        type="error",
        order=2,
        conditions={
            "and": [
                {"==": [{"var": "consumer"}, "b"]},
                {"==": [{"var": "method"}, "POST"]},
                {"==": [{"var": "path"}, "intake/7"]},
                {"==": [{"var": "parameters.id"}, "7"]},
            ]
        },
        configuration={"error": {"code": 403, "message": "Only a"}},
    )
    endpoint(
        dcat, endpoint="intake/{{id}}", method="POST", targetType="none", rules=[guard["id"], only_a["id"]]
    )
    service = EndpointService(dcat)
    assert service.handle("POST", "intake/7", body={}, headers={"Authorization": "key-a"}).status == 200
    refused = service.handle("POST", "intake/7", body={}, headers={"Authorization": "key-b"})
    assert refused.status == 403 and refused.body["message"] == "Only a"
    assert service.handle("POST", "intake/8", body={}, headers={"Authorization": "key-b"}).status == 200


def test_conditions_that_cannot_be_evaluated_answer_400(dcat):
    service = erroring(dcat, {"code": 409}, conditions={"no_such_operator": [1, 2]})
    answer = service.handle("POST", "intake", body={})
    assert answer.status == 400
    assert answer.body["message"].startswith("The conditions cannot be evaluated: ")
    assert answer.body["conditions"] == {"no_such_operator": [1, 2]}


def test_endpoint_conditions_returning_fields_name_those_fields(dcat):
    endpoint(
        dcat,
        endpoint="search",
        targetType="none",
        conditions={"missing": ["parameters.q", "parameters.lang"]},
    )
    service = EndpointService(dcat)
    refused = service.handle("GET", "search", query=[("q", "fiets")])
    assert refused.status == 400
    assert refused.body == {
        "error": "The following parameters are not correctly set",
        "fields": ["parameters.lang"],
    }
    assert service.handle("GET", "search", query=[("q", "fiets"), ("lang", "nl")]).status == 200


def test_endpoint_conditions_that_fail_name_each_variable_they_read_once(dcat):
    endpoint(
        dcat,
        endpoint="search",
        targetType="none",
        conditions={
            "and": [
                {"==": [{"var": "parameters.a"}, "1"]},
                {"==": [{"var": ["parameters.b", "none"]}, "2"]},
                {"!=": [{"var": "parameters.a"}, "3"]},
            ]
        },
    )
    service = EndpointService(dcat)
    refused = service.handle("GET", "search", query=[("a", "1")])
    assert refused.body["fields"] == ["parameters.a", "parameters.b"]
    assert service.handle("GET", "search", query=[("a", "1"), ("b", "2")]).status == 200


@pytest.mark.parametrize(("flag", "status"), [("yes", 200), ("false", 400), ("0", 400)])
def test_endpoint_conditions_hold_for_a_truthy_value_but_not_false_or_0(dcat, flag, status):
    endpoint(dcat, endpoint="search", targetType="none", conditions={"var": "parameters.flag"})
    answer = EndpointService(dcat).handle("GET", "search", query=[("flag", flag)])
    assert answer.status == status
    if status == 400:
        assert answer.body["fields"] == ["parameters.flag"]


def test_an_after_rule_reads_the_request_headers_as_request_headers(dcat):
    refuse = rule(
        dcat,
        type="error",
        timing="after",
        conditions={"==": [{"var": "requestHeaders.x-debug"}, "1"]},
        configuration={"error": {"code": 418}},
    )
    endpoint(dcat, endpoint="intake", method="POST", targetType="none", rules=[refuse["id"]])
    service = EndpointService(dcat)
    assert service.handle("POST", "intake", body={}, headers={"X-Debug": "1"}).status == 418
    assert service.handle("POST", "intake", body={}).status == 200


# -- order, timing and unknown types -------------------------------------------------------


def mapping(context, name, fields):
    return EntityService("mapping", context).create({"name": name, "mapping": fields})["id"]


def test_rules_run_in_their_order_not_the_order_they_are_listed(dcat):
    second = rule(
        dcat,
        type="mapping",
        order=2,
        configuration={"mapping": mapping(dcat, "Second", {"steps": "{{ steps }},second"})},
    )
    first = rule(
        dcat,
        type="mapping",
        order=1,
        configuration={"mapping": mapping(dcat, "First", {"steps": "{{ steps }},first"})},
    )
    endpoint(dcat, endpoint="steps", method="POST", targetType="none", rules=[second["id"], first["id"]])
    answer = EndpointService(dcat).handle("POST", "steps", body={"steps": "start"})
    assert answer.status == 200 and answer.body == {"steps": "start,first,second"}


def test_an_after_rule_runs_once_the_target_has_answered(dcat):
    refuse = rule(dcat, type="error", timing="after", configuration={"error": {"code": 409}})
    endpoint(dcat, endpoint="items", method="POST", rules=[refuse["id"]])
    service = EndpointService(dcat)
    assert service.handle("POST", "items", body={"title": "Written"}).status == 409
    assert service.objects.find_all("dcat", "dataset")["total"] == 1


def test_a_before_rule_ordered_after_an_after_rule_still_runs_before(dcat):
    late = rule(dcat, type="error", timing="after", order=1, configuration={"error": {"code": 409}})
    early = rule(dcat, type="error", timing="before", order=2, configuration={"error": {"code": 403}})
    endpoint(dcat, endpoint="items", method="POST", rules=[late["id"], early["id"]])
    service = EndpointService(dcat)
    assert service.handle("POST", "items", body={"title": "Not written"}).status == 403
    assert service.objects.find_all("dcat", "dataset")["total"] == 0


def test_a_rule_without_timing_runs_before_the_target(dcat):
    refuse = rule(dcat, type="error", configuration={"error": {"code": 409}})
    endpoint(dcat, endpoint="items", method="POST", rules=[refuse["id"]])
    service = EndpointService(dcat)
    assert service.handle("POST", "items", body={"title": "Not written"}).status == 409
    assert service.objects.find_all("dcat", "dataset")["total"] == 0


def test_a_rule_of_an_unknown_type_is_refused_when_called_not_skipped(dcat):
    legacy = legacy_rule(dcat, name="Fetch", type="fetch_file")
    endpoint(dcat, endpoint="legacy", rules=[legacy])
    answer = EndpointService(dcat).handle("GET", "legacy")
    assert answer.status == 400 and answer.body["message"] == "Rule 'Fetch' has unknown type 'fetch_file'"


# -- the mapping rule -----------------------------------------------------------------------


def test_a_mapping_rule_before_the_target_maps_the_request_body(dcat):
    mapper = rule(
        dcat, type="mapping", configuration={"mapping": mapping(dcat, "In", {"title": "{{ naam }}"})}
    )
    endpoint(dcat, endpoint="items", method="POST", rules=[mapper["id"]])
    service = EndpointService(dcat)
    answer = service.handle("POST", "items", body={"naam": "Bomen"})
    assert answer.status == 201 and answer.body["title"] == "Bomen" and "naam" not in answer.body
    assert service.objects.find(answer.body["id"], "dcat", "dataset")["title"] == "Bomen"


def test_a_mapping_rule_after_the_target_maps_the_answer(dcat):
    out = mapping(dcat, "Out", {"naam": "{{ title }}", "soort": "dataset"})
    mapper = rule(dcat, type="mapping", timing="after", configuration={"mapping": out})
    endpoint(dcat, endpoint="items/{{id}}", rules=[mapper["id"]])
    service = EndpointService(dcat)
    item = service.objects.save_object({"title": "Bomen"}, "dcat", "dataset")
    answer = service.handle("GET", f"items/{item['id']}")
    assert answer.status == 200 and answer.body == {"naam": "Bomen", "soort": "dataset"}


def test_a_mapping_rule_after_a_list_maps_each_result(dcat):
    out = mapping(dcat, "Out", {"naam": "{{ title }}"})
    mapper = rule(dcat, type="mapping", timing="after", configuration={"mapping": out})
    endpoint(dcat, endpoint="items", rules=[mapper["id"]])
    service = EndpointService(dcat)
    for title in ("Bomen", "Struiken"):
        service.objects.save_object({"title": title}, "dcat", "dataset")
    answer = service.handle("GET", "items", query=[("_order[title]", "asc")])
    assert answer.status == 200 and answer.body["count"] == 2
    assert answer.body["results"] == [{"naam": "Bomen"}, {"naam": "Struiken"}]


RESULTS = {"count": 2, "results": [{"naam": "a"}, {"naam": "b"}]}


def test_map_results_maps_each_result_and_keeps_the_rest(dcat):
    each = mapping(dcat, "Each", {"title": "{{ naam }}"})
    mapper = rule(dcat, type="mapping", configuration={"mapping": each, "mapResults": True})
    endpoint(dcat, endpoint="batch", method="POST", targetType="none", rules=[mapper["id"]])
    answer = EndpointService(dcat).handle("POST", "batch", body=RESULTS)
    assert answer.body == {"count": 2, "results": [{"title": "a"}, {"title": "b"}]}


def test_a_get_rule_maps_each_result(dcat):
    each = mapping(dcat, "Each", {"title": "{{ naam }}"})
    mapper = rule(dcat, type="mapping", action="get", configuration={"mapping": each})
    endpoint(dcat, endpoint="batch", method="POST", targetType="none", rules=[mapper["id"]])
    answer = EndpointService(dcat).handle("POST", "batch", body=RESULTS)
    assert answer.body == {"count": 2, "results": [{"title": "a"}, {"title": "b"}]}


def test_without_map_results_a_body_with_results_is_mapped_as_one(dcat):
    whole = mapping(dcat, "Whole", {"total": "{{ count }}"})
    mapper = rule(dcat, type="mapping", configuration={"mapping": whole})
    endpoint(dcat, endpoint="batch", method="POST", targetType="none", rules=[mapper["id"]])
    answer = EndpointService(dcat).handle("POST", "batch", body=RESULTS)
    assert answer.body == {"total": "2"}


def test_map_results_maps_a_body_whose_results_are_not_a_list_as_one(dcat):
    whole = mapping(dcat, "Whole", {"total": "{{ count }}"})
    mapper = rule(dcat, type="mapping", configuration={"mapping": whole, "mapResults": True})
    endpoint(dcat, endpoint="batch", method="POST", targetType="none", rules=[mapper["id"]])
    answer = EndpointService(dcat).handle("POST", "batch", body={"count": 1, "results": {"naam": "a"}})
    assert answer.body == {"total": "1"}


# -- the synchronization rule -----------------------------------------------------------------


@pytest.fixture
def push(dcat):
    """``push(**configuration)``: a POST endpoint ``push`` (no target) whose one rule runs a
    synchronisation that maps pets (``{"id", "name"}``) to published datasets."""
    pets = mapping(dcat, "Pet to dataset", {"title": "{{ name }}", "status": "Published"})
    sync = EntityService("synchronization", dcat).create(
        {
            "name": "Pets",
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
            "sourceTargetMapping": pets,
        }
    )

    def make(**configuration):  # type: ignore[no-untyped-def]
        configuration.setdefault("synchronization", sync["id"])
        if isinstance(configuration["synchronization"], dict):
            configuration["synchronization"].setdefault("synchronization", sync["id"])
        runs = rule(dcat, type="synchronization", name="Push pets", configuration=configuration)
        endpoint(dcat, endpoint="push", method="POST", targetType="none", rules=[runs["id"]])
        return EndpointService(dcat)

    return make


def titles(service):
    return sorted(o["title"] for o in service.objects.find_all("dcat", "dataset")["results"])


def test_a_synchronization_rule_answers_the_runs_log(push):
    service = push()
    answer = service.handle("POST", "push", body={"id": 1, "name": "Bella"})
    assert answer.status == 200
    assert answer.body["status"] == "success" and answer.body["test"] is False
    assert answer.body["message"] == "Success"  # records sent in are all there is: nothing stopped early
    assert answer.body["result"]["objects"]["created"] == 1
    assert titles(service) == ["Bella"]


def test_a_synchronization_rule_runs_as_the_authenticated_consumer(dcat, push):
    push()
    keyed(dcat, "loket", "k")
    guard = rule(dcat, type="authentication", order=-1, configuration={"authentication": {"type": "apikey"}})
    runs = EntityService("endpoint", dcat).get("push")["rules"]
    EntityService("endpoint", dcat).update("push", {"rules": [guard["id"], *runs]})
    answer = EndpointService(dcat).handle(
        "POST", "push", body={"id": 1, "name": "Bella"}, headers={"Authorization": "k"}
    )
    assert answer.status == 200 and answer.body["userId"] == "loket"


def test_a_synchronization_rule_takes_a_list_of_records(push):
    service = push()
    answer = service.handle("POST", "push", body=[{"id": 1, "name": "Bella"}, {"id": 2, "name": "Max"}])
    assert answer.body["result"]["objects"]["created"] == 2
    assert titles(service) == ["Bella", "Max"]


@pytest.mark.parametrize("body", ['"just text"', [], 42], ids=["text", "empty list", "number"])
def test_a_synchronization_rule_refuses_a_body_without_records(push, body):
    answer = push().handle("POST", "push", body=body)
    assert answer.status == 400
    assert (
        answer.body["message"] == "A synchronization rule needs a JSON object (or a list of them) as the body"
    )


def test_a_synchronization_rule_naming_no_synchronization_answers_400(push):
    answer = push(synchronization=999).handle("POST", "push", body={"id": 1, "name": "Bella"})
    assert answer.status == 400
    assert answer.body["message"] == "Rule 'Push pets': synchronization 999 does not exist"


def test_a_synchronization_whose_every_record_is_invalid_answers_400(push):
    service = push()
    answer = service.handle("POST", "push", body=[{"id": 1, "name": ""}, {"id": 2, "name": ""}])
    assert answer.status == 400 and answer.body["result"]["objects"]["invalid"] == 2
    assert titles(service) == []


def test_a_synchronization_with_some_valid_records_answers_200(push):
    service = push()
    answer = service.handle("POST", "push", body=[{"id": 1, "name": "Bella"}, {"id": 2, "name": ""}])
    assert answer.status == 200
    assert (
        answer.body["result"]["objects"]["created"] == 1 and answer.body["result"]["objects"]["invalid"] == 1
    )


def test_retain_response_lets_the_request_go_on_to_the_target(push):
    service = push(synchronization={"retainResponse": True})
    answer = service.handle("POST", "push", body={"id": 1, "name": "Bella"})
    assert answer.status == 200 and answer.body == {"id": 1, "name": "Bella"}
    assert titles(service) == ["Bella"]


def test_merge_result_to_key_puts_the_runs_log_under_that_key(push):
    service = push(synchronizationConfig={"mergeResultToKey": "sync"})
    answer = service.handle("POST", "push", body={"id": 1, "name": "Bella"})
    assert answer.status == 200
    assert answer.body["id"] == 1 and answer.body["name"] == "Bella"
    assert answer.body["sync"]["result"]["objects"]["created"] == 1
    assert set(answer.body) == {"id", "name", "sync"}


def test_merge_result_to_hash_merges_the_runs_log_into_the_body(push):
    service = push(synchronizationConfig={"mergeResultToKey": "#"})
    answer = service.handle("POST", "push", body={"name": "Bella", "id": 1})
    assert answer.status == 200 and answer.body["name"] == "Bella"
    assert answer.body["status"] == "success" and answer.body["result"]["objects"]["created"] == 1


def test_merge_result_to_key_with_a_list_body_answers_the_runs_log(push):
    service = push(synchronizationConfig={"mergeResultToKey": "sync"})
    answer = service.handle("POST", "push", body=[{"id": 1, "name": "Bella"}])
    assert answer.status == 200 and answer.body["result"]["objects"]["created"] == 1


def test_is_test_runs_the_synchronization_without_writing(push):
    service = push(isTest=True)
    answer = service.handle("POST", "push", body={"id": 1, "name": "Bella"})
    assert answer.status == 200 and answer.body["test"] is True
    assert titles(service) == []


def test_is_test_false_as_text_writes(push):
    service = push(isTest="false")
    assert service.handle("POST", "push", body={"id": 1, "name": "Bella"}).body["test"] is False
    assert titles(service) == ["Bella"]


def test_force_rewrites_a_record_that_did_not_change(push):
    service = push(force=True)
    service.handle("POST", "push", body={"id": 1, "name": "Bella"})
    again = service.handle("POST", "push", body={"id": 1, "name": "Bella"})
    assert again.body["force"] is True
    assert again.body["result"]["objects"]["updated"] == 1 and again.body["result"]["objects"]["skipped"] == 0


def test_without_force_a_record_that_did_not_change_is_skipped(push):
    service = push()
    service.handle("POST", "push", body={"id": 1, "name": "Bella"})
    again = service.handle("POST", "push", body={"id": 1, "name": "Bella"})
    assert again.body["force"] is False
    assert again.body["result"]["objects"]["updated"] == 0 and again.body["result"]["objects"]["skipped"] == 1


# -- the save_object rule -----------------------------------------------------------------------


def saving(context, pattern="items", method="POST", **spec):
    saver = rule(
        context,
        type="save_object",
        order=5,
        configuration={"save_object": {"register": "dcat", "schema": "dataset", **spec}},
    )
    endpoint(context, endpoint=pattern, method=method, targetType="none", rules=[saver["id"]])
    return EndpointService(context)


def test_save_object_creates_the_body_and_answers_201(dcat):
    service = saving(dcat)
    answer = service.handle("POST", "items", body={"title": "Bomen"})
    assert answer.status == 201 and answer.body["title"] == "Bomen"
    assert service.objects.find(answer.body["id"], "dcat", "dataset")["title"] == "Bomen"


def test_save_object_records_the_consumer_as_owner(dcat):
    keyed(dcat, "loket", "k")
    guard = rule(dcat, type="authentication", order=1, configuration={"authentication": {"type": "apikey"}})
    saver = rule(
        dcat,
        type="save_object",
        order=2,
        configuration={"save_object": {"register": "dcat", "schema": "dataset"}},
    )
    endpoint(dcat, endpoint="items", method="POST", targetType="none", rules=[guard["id"], saver["id"]])
    answer = EndpointService(dcat).handle(
        "POST", "items", body={"title": "x"}, headers={"Authorization": "k"}
    )
    assert answer.status == 201 and answer.body["@self"]["owner"] == "loket"


def test_save_object_maps_the_body_with_its_own_mapping(dcat):
    service = saving(
        dcat, mapping=mapping(dcat, "Intake", {"title": "{{ naam }}", "category": "{{ soort }}"})
    )
    answer = service.handle("POST", "items", body={"naam": "Bomen", "soort": "Groen"})
    assert answer.status == 201
    assert (answer.body["title"], answer.body["category"]) == ("Bomen", "Groen") and "naam" not in answer.body


def test_save_object_refuses_a_body_that_is_not_an_object(dcat):
    answer = saving(dcat).handle("POST", "items", body=[{"title": "x"}])
    assert answer.status == 400 and answer.body["message"] == "The body must be a JSON object"


def test_save_object_before_a_register_target_writes_the_object_once(dcat):
    saver = rule(
        dcat, type="save_object", configuration={"save_object": {"register": "dcat", "schema": "dataset"}}
    )
    endpoint(dcat, endpoint="items", method="POST", rules=[saver["id"]])
    service = EndpointService(dcat)
    answer = service.handle("POST", "items", body={"title": "Once"})
    assert answer.status == 201 and titles(service) == ["Once"]


@pytest.fixture
def item(dcat):
    return EndpointService(dcat).objects.save_object(
        {"title": "Bomen", "category": "Groen"}, "dcat", "dataset"
    )


def test_save_object_on_put_patches_the_object_in_the_path(dcat, item):
    service = saving(dcat, "items/{{id}}", "PUT")
    answer = service.handle("PUT", f"items/{item['id']}", body={"title": "Struiken"})
    assert answer.status == 200 and answer.body["id"] == item["id"]
    assert (answer.body["title"], answer.body["category"]) == ("Struiken", "Groen")
    assert titles(service) == ["Struiken"]


def test_save_object_with_patch_false_replaces_the_object(dcat, item):
    service = saving(dcat, "items/{{id}}", "PUT", patch=False)
    answer = service.handle("PUT", f"items/{item['id']}", body={"title": "Struiken"})
    assert answer.status == 200 and answer.body["title"] == "Struiken" and "category" not in answer.body


def test_save_object_with_patch_updates_the_object_a_post_names(dcat, item):
    service = saving(dcat, "items/{{id}}", "POST", patch=True)
    answer = service.handle("POST", f"items/{item['id']}", body={"category": "Blauw"})
    assert answer.status == 200 and (answer.body["title"], answer.body["category"]) == ("Bomen", "Blauw")


def test_save_object_on_post_without_patch_creates_even_with_an_id_in_the_path(dcat, item):
    service = saving(dcat, "items/{{id}}", "POST")
    answer = service.handle("POST", f"items/{item['id']}", body={"title": "Nieuw"})
    assert answer.status == 201 and answer.body["id"] != item["id"]
    assert titles(service) == ["Bomen", "Nieuw"]


def test_save_object_reads_the_object_id_from_the_last_path_parameter(dcat, item):
    service = saving(dcat, "groups/{{group}}/items/{{item}}", "PATCH")
    answer = service.handle("PATCH", f"groups/g1/items/{item['id']}", body={"category": "Blauw"})
    assert answer.status == 200 and answer.body["id"] == item["id"] and answer.body["title"] == "Bomen"


def test_save_object_reads_the_object_id_from_a_single_path_parameter_of_any_name(dcat, item):
    service = saving(dcat, "items/{{key}}", "PATCH")
    answer = service.handle("PATCH", f"items/{item['id']}", body={"category": "Blauw"})
    assert answer.status == 200 and answer.body["id"] == item["id"] and answer.body["category"] == "Blauw"


def test_save_object_reads_the_object_id_from_the_last_of_three_path_parameters(dcat, item):
    service = saving(dcat, "{{org}}/{{group}}/items/{{item}}", "PATCH")
    answer = service.handle("PATCH", f"o1/g1/items/{item['id']}", body={"category": "Blauw"})
    assert answer.status == 200 and answer.body["id"] == item["id"]


def test_save_object_prefers_a_parameter_named_id(dcat, item):
    service = saving(dcat, "items/{{id}}/versions/{{version}}", "PATCH")
    answer = service.handle("PATCH", f"items/{item['id']}/versions/3", body={"category": "Blauw"})
    assert answer.status == 200 and answer.body["id"] == item["id"]


def test_save_object_answers_404_for_an_object_that_does_not_exist(dcat):
    service = saving(dcat, "items/{{id}}", "PATCH")
    missing = "00000000-0000-4000-8000-000000000000"
    answer = service.handle("PATCH", f"items/{missing}", body={"title": "x"})
    assert answer.status == 404 and titles(service) == []


# -- the locking rule -----------------------------------------------------------------------


def key(name):
    return {"Authorization": f"key-{name}"}


@pytest.fixture
def lockable(dcat, item):
    """``lockable(pattern, **locking)``: ``POST {pattern}`` runs a locking rule for consumers
    ``a`` and ``b`` (``key(name)``); ``PATCH items/{{id}}`` lets them write ``item``."""
    for name in ("a", "b"):
        keyed(dcat, name, f"key-{name}")
    guard = rule(dcat, type="authentication", order=0, configuration={"authentication": {"type": "apikey"}})
    endpoint(dcat, endpoint="items/{{id}}", method="PATCH", rules=[guard["id"]])

    def make(pattern, **spec):  # type: ignore[no-untyped-def]
        lock = rule(dcat, type="locking", order=1, configuration={"locking": spec})
        endpoint(dcat, endpoint=pattern, method="POST", targetType="none", rules=[guard["id"], lock["id"]])
        return EndpointService(dcat)

    return make


def until(answer):
    return datetime.fromisoformat(answer.body["until"])


def test_a_lock_answers_its_holder_and_until_when(lockable, item):
    service = lockable("items/{{id}}/lock", action="lock", duration=600)
    before = datetime.now(UTC)
    answer = service.handle("POST", f"items/{item['id']}/lock", headers=key("a"))
    after = datetime.now(UTC)
    assert answer.status == 200
    assert {k: v for k, v in answer.body.items() if k != "until"} == {
        "id": item["id"],
        "locked": True,
        "holder": "a",
    }
    assert before + timedelta(seconds=599) <= until(answer) <= after + timedelta(seconds=601)


def test_a_lock_without_a_duration_lasts_an_hour(lockable, item):
    answer = lockable("items/{{id}}/lock").handle("POST", f"items/{item['id']}/lock", headers=key("a"))
    left = until(answer) - datetime.now(UTC)
    assert timedelta(seconds=3590) <= left <= timedelta(seconds=3601)


def test_an_object_locked_by_one_consumer_answers_423_to_anothers_writes(lockable, item):
    service = lockable("items/{{id}}/lock", duration=600)
    service.handle("POST", f"items/{item['id']}/lock", headers=key("a"))
    answer = service.handle("PATCH", f"items/{item['id']}", body={"title": "B"}, headers=key("b"))
    assert answer.status == 423 and answer.body["error"] == "Locked" and answer.body["id"] == item["id"]
    assert answer.body["message"] == f"Object {item['id']} is locked until {answer.body['until']}"
    assert service.objects.find(item["id"], "dcat", "dataset")["title"] == "Bomen"


def test_another_consumer_cannot_take_a_held_lock(lockable, item):
    service = lockable("items/{{id}}/lock", duration=600)
    service.handle("POST", f"items/{item['id']}/lock", headers=key("a"))
    answer = service.handle("POST", f"items/{item['id']}/lock", headers=key("b"))
    assert answer.status == 423 and answer.body["error"] == "Locked"


def test_the_holder_locking_again_extends_the_lock(lockable, item):
    service = lockable("items/{{id}}/lock", duration=60)
    lockable("items/{{id}}/hold", duration=7200)
    service.handle("POST", f"items/{item['id']}/lock", headers=key("a"))
    again = service.handle("POST", f"items/{item['id']}/hold", headers=key("a"))
    assert again.status == 200 and again.body["holder"] == "a"
    refused = service.handle("PATCH", f"items/{item['id']}", body={"title": "B"}, headers=key("b"))
    left = datetime.fromisoformat(refused.body["until"]) - datetime.now(UTC)
    assert left > timedelta(seconds=7000)


def test_the_holder_may_still_write_a_locked_object(lockable, item):
    service = lockable("items/{{id}}/lock", duration=600)
    service.handle("POST", f"items/{item['id']}/lock", headers=key("a"))
    answer = service.handle("PATCH", f"items/{item['id']}", body={"title": "A"}, headers=key("a"))
    assert answer.status == 200 and answer.body["title"] == "A"


def test_unlocking_frees_the_object_for_others(lockable, item):
    service = lockable("items/{{id}}/lock", duration=600)
    lockable("items/{{id}}/unlock", action="unlock")
    service.handle("POST", f"items/{item['id']}/lock", headers=key("a"))
    unlocked = service.handle("POST", f"items/{item['id']}/unlock", headers=key("a"))
    assert unlocked.status == 200 and unlocked.body == {"id": item["id"], "locked": False}
    answer = service.handle("PATCH", f"items/{item['id']}", body={"title": "B"}, headers=key("b"))
    assert answer.status == 200 and answer.body["title"] == "B"


def test_only_the_holder_may_unlock(lockable, item):
    service = lockable("items/{{id}}/lock", duration=600)
    lockable("items/{{id}}/unlock", action="unlock")
    service.handle("POST", f"items/{item['id']}/lock", headers=key("a"))
    refused = service.handle("POST", f"items/{item['id']}/unlock", headers=key("b"))
    assert refused.status == 423
    still = service.handle("PATCH", f"items/{item['id']}", body={"title": "B"}, headers=key("b"))
    assert still.status == 423


def test_a_lock_ends_after_its_duration(lockable, item):
    service = lockable("items/{{id}}/lock", duration=0.3)
    service.handle("POST", f"items/{item['id']}/lock", headers=key("a"))
    assert service.handle("POST", f"items/{item['id']}/lock", headers=key("b")).status == 423
    deadline = time.monotonic() + 10
    while (taken := service.handle("POST", f"items/{item['id']}/lock", headers=key("b"))).status != 200:
        assert time.monotonic() < deadline, taken.body
        time.sleep(0.05)
    assert taken.body["holder"] == "b"


def test_a_lock_holds_for_the_id_in_any_letter_case(lockable, item):
    service = lockable("items/{{id}}/lock", duration=600)
    service.handle("POST", f"items/{item['id'].upper()}/lock", headers=key("a"))
    answer = service.handle("PATCH", f"items/{item['id']}", body={"title": "B"}, headers=key("b"))
    assert answer.status == 423


def test_a_lock_reads_the_object_id_from_the_last_path_parameter(lockable, item):
    service = lockable("groups/{{group}}/items/{{item}}/lock", duration=600)
    answer = service.handle("POST", f"groups/g1/items/{item['id']}/lock", headers=key("a"))
    assert answer.status == 200 and answer.body["id"] == item["id"]
    assert service.handle("PATCH", f"items/{item['id']}", body={}, headers=key("b")).status == 423


def test_a_lock_prefers_the_parameter_named_id(lockable, item):
    service = lockable("items/{{id}}/parts/{{part}}/lock", duration=600)
    answer = service.handle("POST", f"items/{item['id']}/parts/p1/lock", headers=key("a"))
    assert answer.status == 200 and answer.body["id"] == item["id"]


def test_a_locking_rule_without_an_id_in_the_path_answers_400(lockable):
    answer = lockable("locks", duration=600).handle("POST", "locks", headers=key("a"))
    assert answer.status == 400 and answer.body["message"] == "A locking rule needs an object id in the path"


def test_an_anonymous_lock_is_held_by_anonymous(dcat, item):
    lock = rule(dcat, type="locking", configuration={"locking": {"duration": 600}})
    endpoint(dcat, endpoint="items/{{id}}/lock", method="POST", targetType="none", rules=[lock["id"]])
    answer = EndpointService(dcat).handle("POST", f"items/{item['id']}/lock")
    assert answer.status == 200 and answer.body["holder"] == "anonymous"


@pytest.mark.parametrize(
    ("writer", "status", "titles_after"),
    [("b", 423, ["Bomen"]), ("a", 200, ["Changed"])],
    ids=["another consumer: 423", "the holder: written"],
)
def test_save_object_on_a_locked_object_admits_only_its_holder(
    lockable, dcat, item, writer, status, titles_after
):
    service = lockable("items/{{id}}/lock", duration=600)
    saver = rule(
        dcat,
        type="save_object",
        order=5,
        configuration={"save_object": {"register": "dcat", "schema": "dataset"}},
    )
    guard = EntityService("endpoint", dcat).get("items/{{id}}/lock")["rules"][0]
    endpoint(dcat, endpoint="items/{{id}}", method="PUT", targetType="none", rules=[guard, saver["id"]])
    service.handle("POST", f"items/{item['id']}/lock", headers=key("a"))
    answer = service.handle("PUT", f"items/{item['id']}", body={"title": "Changed"}, headers=key(writer))
    assert answer.status == status and titles(service) == titles_after
