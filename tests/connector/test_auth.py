"""Source authentication (``connector/auth.py``) against the fake API's checking endpoints."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from openconnector.errors import BadRequest, SourceRejected, SourceUnavailable


def _basic(fake_api) -> dict[str, Any]:
    creds = fake_api.credentials
    return {
        "auth": "basic",
        "authenticationConfig": {"username": creds["username"], "password": creds["password"]},
    }


def _oauth(fake_api, **extra: Any) -> dict[str, Any]:
    creds = fake_api.credentials
    return {
        "auth": "oauth2",
        "authenticationConfig": {
            "tokenUrl": f"{fake_api.url}/oauth/token",
            "clientId": creds["client_id"],
            "clientSecret": creds["client_secret"],
            "scope": "read",
            **extra,
        },
    }


def test_basic_auth_is_accepted(fake_api, calls):
    result = calls.call(fake_api.source(**_basic(fake_api)), "/auth/basic")

    assert result.json()["authenticated"] == "basic"


def test_bearer_token_is_accepted(fake_api, calls):
    source = fake_api.source(auth="bearer", authenticationConfig={"token": fake_api.credentials["token"]})

    assert calls.call(source, "/auth/bearer").json()["authenticated"] == "bearer"


def test_api_key_in_a_header_is_accepted(fake_api, calls):
    source = fake_api.source(auth="apikey", authenticationConfig={"key": fake_api.credentials["api_key"]})

    assert calls.call(source, "/auth/apikey").json()["authenticated"] == "apikey"


def test_api_key_in_the_query_is_accepted(fake_api, calls):
    source = fake_api.source(
        auth="apikey",
        authenticationConfig={"key": fake_api.credentials["api_key"], "name": "api_key", "in": "query"},
    )

    result = calls.call(source, "/auth/apikey-query")

    assert result.json()["authenticated"] == "apikey-query"
    assert result.url.endswith("/auth/apikey-query?api_key=***")


def test_literal_authorization_header_in_configuration_works_like_the_original(fake_api, calls):
    source = fake_api.source(
        configuration={"headers": {"Authorization": f"Bearer {fake_api.credentials['token']}"}}
    )

    assert calls.call(source, "/auth/bearer").ok
    assert calls.logs[-1]["request"]["headers"]["Authorization"] == "***"


def test_guzzle_style_auth_pair_in_configuration_is_basic_auth(fake_api, calls):
    creds = fake_api.credentials
    source = fake_api.source(configuration={"auth": [creds["username"], creds["password"]]})

    assert calls.call(source, "/auth/basic").ok


def test_wrong_credentials_come_back_as_401_results(fake_api, calls):
    source = fake_api.source(auth="bearer", authenticationConfig={"token": "not-the-token"})

    result = calls.call(source, "/auth/bearer")

    assert result.status_code == 401
    with pytest.raises(SourceRejected, match="returned 401 Unauthorized"):
        result.raise_for_status()


INCOMPLETE: list[tuple[str, dict[str, Any], str]] = [
    (
        "basic",
        {"username": "alice"},
        'Source "Fake API" uses auth "basic" but authenticationConfig lacks: password',
    ),
    ("basic", {}, "lacks: username, password"),
    ("bearer", {"token": ""}, "lacks: token"),
    ("apikey", {"name": "X-Key"}, "lacks: key"),
    ("oauth2", {"tokenUrl": "http://x/token"}, "lacks: clientId, clientSecret"),
    ("jwt", {"algorithm": "HS256"}, "lacks: secret"),
    ("jwt", {"algorithm": "RS256", "secret": "x"}, "lacks: privateKey"),
]


@pytest.mark.parametrize(("auth", "settings", "message"), INCOMPLETE)
def test_incomplete_auth_settings_name_the_missing_keys(fake_api, calls, auth, settings, message):
    with pytest.raises(BadRequest, match=message) as error:
        calls.call(fake_api.source(auth=auth, authenticationConfig=settings), "/echo")
    assert error.value.details["missing"]
    assert fake_api.requests == []


BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    ({"auth": "kerberos"}, 'unknown auth method "kerberos"; valid: apikey, basic, bearer, jwt, none, oauth2'),
    (
        {"auth": "apikey", "authenticationConfig": {"key": "k", "in": "cookie"}},
        'must be "header" or "query", not "cookie"',
    ),
    (
        {"auth": "jwt", "authenticationConfig": {"secret": "s", "algorithm": "none"}},
        'Unsupported JWT algorithm "none"',
    ),
    (
        {"auth": "jwt", "authenticationConfig": {"secret": "s", "payload": "{oops"}},
        "payload is not valid JSON",
    ),
    (
        {"auth": "jwt", "authenticationConfig": {"privateKey": "garbage", "algorithm": "RS256"}},
        "Cannot sign a RS256 JWT",
    ),
]


@pytest.mark.parametrize(("settings", "message"), BAD_SETTINGS)
def test_bad_auth_settings_are_bad_requests_saying_what_is_valid(fake_api, calls, settings, message):
    with pytest.raises(BadRequest, match=message):
        calls.call(fake_api.source(**settings), "/echo")


# -- OAuth2 -------------------------------------------------------------------------------------


def test_oauth_client_credentials_token_is_fetched_and_sent(fake_api, calls):
    result = calls.call(fake_api.source(**_oauth(fake_api)), "/auth/oauth")

    assert result.json()["authenticated"] == "oauth2"
    assert fake_api.token_requests == [{"auth": "body", "scope": "read", "grant_type": "client_credentials"}]


def test_oauth_client_can_authenticate_with_basic_auth(fake_api, calls):
    assert calls.call(fake_api.source(**_oauth(fake_api, authentication="basic_auth")), "/auth/oauth").ok
    assert fake_api.token_requests[0]["auth"] == "basic"


def test_oauth_token_is_cached_until_expiry(fake_api, calls):
    fake_api.token_lifetime = 300
    source = fake_api.source(**_oauth(fake_api))

    for _ in range(3):
        assert calls.call(source, "/auth/oauth").ok
    assert fake_api.tokens_issued == 1

    calls.now += 260  # still valid
    assert calls.call(source, "/auth/oauth").ok
    assert fake_api.tokens_issued == 1

    calls.now += 15  # within the renewal margin: min(30 s, lifetime / 10) before expiry
    assert calls.call(source, "/auth/oauth").ok
    assert fake_api.tokens_issued == 2


def test_oauth_token_is_shared_by_sources_with_the_same_client(fake_api, calls):
    calls.call(fake_api.source(**_oauth(fake_api)), "/auth/oauth")
    calls.call(fake_api.source(id=2, **_oauth(fake_api)), "/auth/oauth")

    assert fake_api.tokens_issued == 1


def test_revoked_oauth_token_is_renewed_once_after_a_401(fake_api, calls):
    source = fake_api.source(**_oauth(fake_api))
    calls.call(source, "/auth/oauth")
    fake_api.revoke_tokens()

    result = calls.call(source, "/auth/oauth")

    assert result.ok
    assert fake_api.tokens_issued == 2


def test_oauth_token_calls_are_logged_without_the_token(fake_api, calls):
    calls.call(fake_api.source(**_oauth(fake_api)), "/auth/oauth")

    token_log, api_log = calls.logs
    assert token_log["purpose"] == "oauth2 token"
    assert token_log["request"]["method"] == "POST"
    assert token_log["request"]["url"] == f"{fake_api.url}/oauth/token"
    assert "body" not in token_log["response"]
    assert api_log["request"]["headers"]["Authorization"] == "***"


def test_refused_oauth_client_is_a_source_rejected_error(fake_api, calls):
    source = fake_api.source(**_oauth(fake_api, clientSecret="rotated-elsewhere"))

    with pytest.raises(
        SourceRejected, match=r"OAuth2 token request to .*/oauth/token was refused: invalid_client"
    ):
        calls.call(source, "/auth/oauth")


def test_unreachable_token_endpoint_is_source_unavailable(fake_api, calls):
    source = fake_api.source(**_oauth(fake_api, tokenUrl="http://127.0.0.1:9/token"))

    with pytest.raises(SourceUnavailable, match="OAuth2 token request to http://127.0.0.1:9/token failed"):
        calls.call(source, "/auth/oauth")


def test_token_response_without_access_token_names_its_keys(fake_api, calls):
    source = fake_api.source(**_oauth(fake_api, tokenLocation="data.token"))

    with pytest.raises(SourceRejected, match=r'has no "data.token"; it has keys \["access_token"'):
        calls.call(source, "/auth/oauth")


# -- JWT ----------------------------------------------------------------------------------------


def test_hs256_jwt_is_signed_with_iat_and_exp(fake_api, calls):
    source = fake_api.source(
        auth="jwt",
        authenticationConfig={
            "algorithm": "HS256",
            "secret": fake_api.jwt_key,
            "payload": {"client_id": "oc"},
        },
    )

    body = calls.call(source, "/auth/jwt").json()

    claims = body["claims"]
    assert claims["client_id"] == "oc"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["iat"] == int(calls.now)
    assert body["header"] == {"alg": "HS256", "typ": "JWT"}


def test_hs512_jwt_with_a_json_string_payload_and_x5t(fake_api, calls):
    fake_api.jwt_key, fake_api.jwt_algorithms = "k" * 64, ["HS512"]
    source = fake_api.source(
        auth="jwt",
        authenticationConfig={
            "algorithm": "HS512",
            "secret": fake_api.jwt_key,
            "payload": '{"iss": "openconnector", "exp": 4102444800}',
            "x5t": "thumb",
        },
    )

    body = calls.call(source, "/auth/jwt").json()

    assert body["claims"]["iss"] == "openconnector"
    assert body["claims"]["exp"] == 4102444800
    assert body["header"]["x5t"] == "thumb"


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.mark.parametrize("algorithm", ["RS256", "RS512", "PS256"])
def test_rsa_signed_jwt_is_accepted(fake_api, calls, algorithm):
    private, public = _rsa_pair()
    fake_api.jwt_key, fake_api.jwt_algorithms = public, [algorithm]
    source = fake_api.source(auth="jwt", authenticationConfig={"algorithm": algorithm, "privateKey": private})

    assert calls.call(source, "/auth/jwt").json()["header"]["alg"] == algorithm


def test_private_key_may_be_base64_encoded_pem_like_the_original(fake_api, calls):
    private, public = _rsa_pair()
    fake_api.jwt_key, fake_api.jwt_algorithms = public, ["RS256"]
    encoded = base64.b64encode(private.encode()).decode()
    source = fake_api.source(auth="jwt", authenticationConfig={"algorithm": "RS256", "privateKey": encoded})

    assert calls.call(source, "/auth/jwt").ok


def test_jwt_can_go_in_a_custom_header_without_prefix(fake_api, calls):
    source = fake_api.source(
        auth="jwt", authenticationConfig={"secret": fake_api.jwt_key, "header": "X-Jwt", "payload": {"a": 1}}
    )

    token = calls.call(source, "/echo").json()["headers"]["x-jwt"]

    assert jwt.decode(token, fake_api.jwt_key, algorithms=["HS256"])["a"] == 1
    assert calls.logs[-1]["request"]["headers"]["X-Jwt"] == "***"


# -- configurations of the original ---------------------------------------------------------------


def test_original_oauth_token_function_in_a_header_is_filled_in(fake_api, calls):
    creds = fake_api.credentials
    source = fake_api.source(
        configuration={
            "headers": {"Authorization": "Bearer {{ oauthToken(source) }}"},
            "authentication": {
                "grant_type": "client_credentials",
                "tokenUrl": f"{fake_api.url}/oauth/token",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "authentication": "basic_auth",
            },
        }
    )

    assert calls.call(source, "/auth/oauth").ok
    assert calls.call(source, "/auth/oauth").ok
    assert fake_api.tokens_issued == 1
    assert fake_api.token_requests[0]["auth"] == "basic"
    fake_api.revoke_tokens()
    assert calls.call(source, "/auth/oauth").ok
    assert fake_api.tokens_issued == 2


def test_original_jwt_token_function_in_a_header_is_filled_in(fake_api, calls):
    source = fake_api.source(
        configuration={
            "headers": {"Authorization": "Bearer {{jwtToken(source)}}"},
            "authentication": {
                "algorithm": "HS256",
                "secret": fake_api.jwt_key,
                "payload": '{"client_id": "oc"}',
            },
        }
    )

    assert calls.call(source, "/auth/jwt").json()["claims"]["client_id"] == "oc"


def test_original_token_function_without_settings_names_what_is_missing(fake_api, calls):
    source = fake_api.source(configuration={"headers": {"Authorization": "Bearer {{ oauthToken(source) }}"}})

    with pytest.raises(
        BadRequest, match="configuration.authentication lacks: tokenUrl, clientId, clientSecret"
    ):
        calls.call(source, "/auth/oauth")
