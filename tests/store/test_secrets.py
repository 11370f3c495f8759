"""Secrets at the store level: every kind a source holds is encrypted at rest, masked in
every answer, decrypted only for the call, and kept when the mask is sent back.

docs/operations.md promises "secrets encrypted at rest, never returned"; the UI test
(tests/web/test_pages.py) checks one page, these check the store that every face reads.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from openconnector.register.objects import ObjectService
from openconnector.store.secrets import (
    MASK,
    PREFIX,
    Secrets,
    is_encrypted,
    is_sensitive,
    mask,
    reveal,
    seal,
    secret_paths,
    secret_values,
    url_secret_slots,
)
from openconnector.store.settings import Settings

#: (where in a source, the secret) for each kind of secret a source can hold.
SECRET_KINDS: list[tuple[tuple[str, ...], str]] = [
    (("authenticationConfig", "password"), "basic-pw-1"),
    (("authenticationConfig", "client_secret"), "oauth-secret-2"),
    (("authenticationConfig", "token"), "bearer-tok-3"),
    (("authenticationConfig", "apikey"), "api-key-4"),
    (("authenticationConfig", "jwtSecret"), "jwt-key-5"),
    (("authenticationConfig", "privateKey"), "-----BEGIN PRIVATE KEY-----6"),
    (("authenticationConfig", "assertion"), "saml-assertion-7"),
    (("configuration", "authentication", "password"), "nested-pw-8"),
    (("configuration", "headers", "Authorization"), "Bearer header-tok-9"),
    (("configuration", "headers", "X-Api-Key"), "header-key-10"),
    (("configuration", "headers", "Cookie"), "session=cookie-11"),
    (("configuration", "query", "api_key"), "query-key-12"),
    (("configuration", "query", "access_token"), "query-tok-13"),
    (("headers", "X-Auth-Token"), "top-header-14"),
    (("query", "signature"), "top-query-sig-15"),
    (("password",), "plain-pw-16"),
    (("secret",), "plain-secret-17"),
    (("apikey",), "plain-key-18"),
    (("jwt",), "plain-jwt-19"),
    (("authorizationHeader",), "Basic plain-auth-20"),
]

#: Values next to the secrets that say where a secret goes, not what it is: shown as stored.
PLAIN_NEIGHBOURS: list[tuple[tuple[str, ...], str]] = [
    (("authenticationConfig", "tokenUrl"), "https://idp.example.nl/token"),
    (("authenticationConfig", "tokenLocation"), "header"),
    (("authenticationConfig", "keyName"), "X-Api-Key"),
    (("authenticationConfig", "grant_type"), "client_credentials"),
    (("authenticationConfig", "username"), "alice"),
    (("configuration", "headers", "Accept"), "application/json"),
    (("configuration", "query", "status"), "available"),
    (("headers", "User-Agent"), "openconnector"),
]


def put(obj: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    for part in path[:-1]:
        obj = obj.setdefault(part, {})
    obj[path[-1]] = value


def at(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        obj = obj[part]
    return obj


@pytest.fixture
def source_data() -> dict[str, Any]:
    data: dict[str, Any] = {"name": "All secrets", "type": "api", "location": "https://api.example.nl"}
    for path, value in SECRET_KINDS + PLAIN_NEIGHBOURS:
        put(data, path, value)
    return data


def stored_text(context, uuid: str) -> str:  # type: ignore[no-untyped-def]
    with context.db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT object FROM objects WHERE uuid = ?", (uuid,)).scalar_one()
    return raw if isinstance(raw, str) else json.dumps(raw)


def test_every_secret_kind_is_encrypted_at_rest_masked_in_answers_and_revealed_for_calls(
    context, source_data
):
    objects = ObjectService(context)
    saved = objects.save_object(source_data, "openconnector", "source")
    raw = stored_text(context, saved["id"])
    stored = json.loads(raw)
    found = objects.find(saved["id"])
    listed = next(o for o in objects.find_all("openconnector", "source")["results"] if o["id"] == saved["id"])
    revealed = objects.reveal(saved, objects.registers.get_schema("source"))
    for path, secret in SECRET_KINDS:
        where = ".".join(path)
        assert secret not in raw, f"{where} is stored in plain text"
        assert at(stored, path).startswith(PREFIX), where
        for answer in (saved, found, listed):
            assert at(answer, path) == MASK, f"{where} is not masked in an answer"
        assert at(revealed, path) == secret, f"{where} does not decrypt for the call"
    for path, value in PLAIN_NEIGHBOURS:
        for answer in (saved, found, listed, revealed):
            assert at(answer, path) == value, f"{'.'.join(path)} is not a secret and must show as stored"


def test_sending_the_mask_back_keeps_every_secret_and_a_new_value_replaces_it(context, source_data):
    objects = ObjectService(context)
    saved = objects.save_object(source_data, "openconnector", "source")
    echoed = {k: v for k, v in saved.items() if k != "@self"}
    put(echoed, ("configuration", "headers", "X-Api-Key"), "rotated-key")
    objects.save_object(echoed, "openconnector", "source")
    revealed = objects.reveal(saved, objects.registers.get_schema("source"))
    for path, secret in SECRET_KINDS:
        expected = "rotated-key" if path == ("configuration", "headers", "X-Api-Key") else secret
        assert at(revealed, path) == expected, ".".join(path)
    assert "rotated-key" not in stored_text(context, saved["id"])


def test_a_mask_sent_for_a_secret_that_was_never_set_stores_nothing(context):
    objects = ObjectService(context)
    saved = objects.save_object(
        {"name": "New", "type": "api", "location": "http://x", "authenticationConfig": {"password": MASK}},
        "openconnector",
        "source",
    )
    assert "password" not in json.loads(stored_text(context, saved["id"]))["authenticationConfig"]


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "X-Api-Key",
        "apiKey",
        "access_token",
        "refreshToken",
        "client_secret",
        "password",
        "passwd",
        "Cookie",
        "Set-Cookie",
        "signature",
        "credentials",
        "client_assertion",
        "privateKey",
        "tokenValue",
    ],
)
def test_names_that_hold_a_secret_are_sensitive(name):
    assert is_sensitive(name)


@pytest.mark.parametrize(
    "name",
    [
        "tokenUrl",
        "token_uri",
        "tokenLocation",
        "keyName",
        "grantType",
        "authMethod",
        "token_type",
        "oauth_signature_method",
        "PASSWORD_METHOD",
        "username",
        "proxyAuthUser",
        "author",
        "Accept",
        "",
    ],
)
def test_names_that_say_where_a_secret_goes_are_not(name):
    assert not is_sensitive(name)


def test_seal_mask_reveal_follow_the_paths_and_numbers_too():
    secrets = Secrets.for_settings(Settings(secret_key="k"))
    obj: dict[str, Any] = {
        "headers": {"Authorization": "Bearer t", "Accept": "json", "X-Token": 5},
        "password": "pw",
        "secret": "",
        "other": "visible",
        "deep": "not-a-dict",
    }
    paths = ["headers.*", "password", "secret", "deep.key", "deep.more.key", "missing.*", "missing.password"]
    seal(obj, paths, secrets)
    assert is_encrypted(obj["headers"]["Authorization"]) and is_encrypted(obj["password"])
    assert obj["headers"]["Accept"] == "json"
    assert is_encrypted(obj["headers"]["X-Token"])  # a token given as a number is a secret too (issue 13)
    assert obj["secret"] == "" and obj["other"] == "visible" and obj["deep"] == "not-a-dict"
    assert secrets.encrypt(obj["password"]) == obj["password"]  # never encrypted twice
    masked = mask(obj, paths)
    assert masked["headers"]["Authorization"] == masked["password"] == masked["headers"]["X-Token"] == MASK
    assert masked["headers"]["Accept"] == "json" and masked["secret"] == "" and masked["other"] == "visible"
    assert is_encrypted(obj["password"])  # mask works on a copy
    plain = reveal(obj, paths, secrets)
    assert plain["headers"]["Authorization"] == "Bearer t" and plain["password"] == "pw"
    assert plain["headers"]["X-Token"] == 5  # back with its type
    assert is_encrypted(obj["password"])  # reveal works on a copy too
    assert is_encrypted(obj["headers"]["Authorization"])  # a deep one


def test_a_mask_keeps_the_previous_secret_at_its_own_path():
    secrets = Secrets.for_settings(Settings(secret_key="k"))
    previous = {"auth": {"password": secrets.encrypt("old")}, "password": secrets.encrypt("top")}
    obj = {"auth": {"password": MASK}, "password": MASK}
    seal(obj, ["auth.*", "password"], secrets, previous)
    assert obj == previous


def test_another_key_cannot_read_a_secret_and_says_so(tmp_path):
    mine = Secrets.for_settings(Settings(secret_key="one"))
    theirs = Secrets.for_settings(Settings(secret_key="two"))
    token = mine.encrypt("s3cret")
    assert mine.decrypt(token) == "s3cret"
    assert theirs.decrypt("plain text") == "plain text"
    with pytest.raises(ValueError, match=r"^a stored secret cannot be decrypted with this instance's key$"):
        theirs.decrypt(token)


@pytest.mark.parametrize("data_dir", ["data", "new/nested/data"])
def test_without_a_configured_key_one_is_generated_once_and_kept_private(tmp_path, data_dir):
    settings = Settings(data_dir=tmp_path / data_dir)
    token = Secrets.for_settings(settings).encrypt("s")
    key_file = tmp_path / data_dir / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert Secrets.for_settings(settings).decrypt(token) == "s"  # the same key on a restart
    with pytest.raises(ValueError):  # another instance generates another key
        Secrets.for_settings(Settings(data_dir=tmp_path / "other")).decrypt(token)


def test_a_key_is_generated_into_a_data_dir_that_already_exists(tmp_path):
    (tmp_path / "data").mkdir()
    token = Secrets.for_settings(Settings(data_dir=tmp_path / "data")).encrypt("s")
    assert Secrets.for_settings(Settings(data_dir=tmp_path / "data")).decrypt(token) == "s"


@pytest.mark.parametrize(
    "previous",
    [None, {}, {"auth": "text"}, {"auth": {"other": "x"}}, {"auth": {"password": ""}}],
    ids=repr,
)
def test_a_mask_with_no_previous_secret_at_its_place_drops_the_key(previous):
    secrets = Secrets.for_settings(Settings(secret_key="k"))
    obj = {"auth": {"password": MASK, "user": "alice"}}
    seal(obj, ["auth.*"], secrets, previous)
    assert obj == {"auth": {"user": "alice"}}


# -- secrets inside a URL (a source's location) ------------------------------------------------

LOCATION = (
    "https://alice:pa55-S3cret@api.example.nl:8443/v1/@me/items"
    "?status=open&api_key=k3y-S3cret&page=2&token=&api%5Fkey2=k3y2-S3cret&access_token=t0k-S3cret#part?x=1"
)
MASKED = (
    "https://alice:********@api.example.nl:8443/v1/@me/items"
    "?status=open&api_key=********&page=2&token=&api%5Fkey2=********&access_token=********#part?x=1"
)


def test_a_location_keeps_every_character_but_its_password_and_credential_query_values():
    secrets = Secrets.for_settings(Settings(secret_key="k"))
    obj = {"location": LOCATION}
    seal(obj, ["url:location"], secrets)
    stored = obj["location"]
    for secret in ("pa55-S3cret", "k3y-S3cret", "k3y2-S3cret", "t0k-S3cret"):
        assert secret not in stored
    assert stored.startswith("https://alice:" + PREFIX)
    assert "@api.example.nl:8443/v1/@me/items?status=open&api_key=" + PREFIX in stored
    assert "&page=2&token=&api%5Fkey2=" + PREFIX in stored and stored.endswith("#part?x=1")
    assert mask(obj, ["url:location"]) == {"location": MASKED}
    assert reveal(obj, ["url:location"], secrets) == {"location": LOCATION}
    assert secret_values({"location": LOCATION}, ["url:location"]) == [
        "pa55-S3cret",
        "k3y-S3cret",
        "k3y2-S3cret",
        "t0k-S3cret",
    ]


def test_a_masked_location_sent_back_keeps_its_secrets_and_a_new_one_replaces_only_its_own():
    secrets = Secrets.for_settings(Settings(secret_key="k"))
    previous = {"location": LOCATION}
    seal(previous, ["url:location"], secrets)
    echoed = {"location": MASKED}
    seal(echoed, ["url:location"], secrets, previous)
    assert reveal(echoed, ["url:location"], secrets) == {"location": LOCATION}
    rotated = {"location": MASKED.replace("alice:********", "alice:n3w-S3cret")}
    seal(rotated, ["url:location"], secrets, previous)
    assert reveal(rotated, ["url:location"], secrets) == {
        "location": LOCATION.replace("pa55-S3cret", "n3w-S3cret")
    }
    # a masked part the previous URL did not have (or no previous URL) is left empty
    added = {"location": "https://alice:********@h/x?status=open&api_key=********"}
    seal(added, ["url:location"], secrets, {"location": "https://h/x?status=open"})
    assert added == {"location": "https://alice:@h/x?status=open&api_key="}
    fresh = {"location": "https://h/x?client_secret=********"}
    seal(fresh, ["url:location"], secrets)
    assert fresh == {"location": "https://h/x?client_secret="}


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://api.example.nl/v1?status=open", []),
        ("https://alice@api.example.nl/", []),  # a user without a password
        ("https://alice:@api.example.nl/", []),  # an empty password
        ("https://api.example.nl/users/@me", []),  # an @ in the path is no userinfo
        ("https://a:b@c@h/", [("b@c", "password")]),  # the last @ ends the userinfo
        ("https://u:p@h#f", [("p", "password")]),
        ("https://u:p@h?q=1", [("p", "password")]),
        ("https://u:p:q@h/", [("p:q", "password")]),  # the first colon starts the password
        ("//u:p@h/", []),  # no scheme
        ("/path?key=v&x&secret=s", [("v", "query:key"), ("s", "query:secret")]),
        ("https://h/?signature=a+b&Password=c#f", [("a+b", "query:signature"), ("c", "query:Password")]),
        ("https://h/?token=a=b&page=1", [("a=b", "query:token")]),
        ("redis://:p@h:6379/0", [("p", "password")]),  # a password without a user
        ("https://u:p@h/?token=a&next=https://v:w@x/", [("p", "password"), ("a", "query:token")]),
        ("?token=a&page=2", [("a", "query:token")]),  # a query alone
        ("https://h/?token=a#x#y", [("a", "query:token")]),  # the first # ends the query
        # a ? inside the fragment: its credential-named values are found too (the safe side)
        ("https://h/p#x?token=a", [("a", "query:token")]),
    ],
)
def test_the_secret_parts_of_a_url_are_found_where_they_are_written(url, parts):
    assert [(url[start:end], slot) for start, end, slot in url_secret_slots(url)] == parts


def test_secret_values_are_every_secret_in_clear_for_redaction_by_value():
    obj = {
        "password": 1234,
        "key": {"a": "x1", "b": ["y2", True, None, 2.5], "c": "x1"},
        "token": MASK,
        "secret": "",
        "headers": {"Authorization": "Bearer h1", "Accept": "json"},
        "location": "https://u:p9@h/?token=q8",
    }
    paths = ["password", "key", "token", "secret", "headers.*", "url:location", "missing"]
    assert secret_values(obj, paths) == ["1234", "x1", "y2", "2.5", "Bearer h1", "p9", "q8"]
    assert secret_values({"location": 5}, ["url:location"]) == []  # not a URL: nothing in it is secret
    # "configuration.*" leaves the Guzzle pair [user, password] to "configuration.auth.1": the user is no secret
    guzzle = {"configuration": {"auth": ["alice", "pw"], "token": "t"}}
    assert secret_values(guzzle, ["configuration.*", "configuration.auth.1"]) == ["t", "pw"]


# -- lists of secrets ------------------------------------------------------------------------------


def test_each_item_of_a_list_of_secrets_is_sealed_masked_kept_and_dropped_on_its_own():
    """An authentication rule's API keys: a list whose every string is one secret."""
    secrets = Secrets.for_settings(Settings(secret_key="k"))
    stored = {"rule": {"keys": ["k1", "k2", ""]}}
    seal(stored, ["rule.keys"], secrets)
    keys = stored["rule"]["keys"]
    assert len(keys) == 2 and all(is_encrypted(k) for k in keys)  # an empty item is no key: dropped
    assert mask(stored, ["rule.keys"]) == {"rule": {"keys": [MASK, MASK]}}
    # sent back: the first kept, the second replaced, a third masked one that never existed dropped
    edited = {"rule": {"keys": [MASK, "k2-new", MASK, "k4"]}}
    seal(edited, ["rule.keys"], secrets, stored)
    assert reveal(edited, ["rule.keys"], secrets) == {"rule": {"keys": ["k1", "k2-new", "k4"]}}
    assert edited["rule"]["keys"][0] == stored["rule"]["keys"][0]


def test_one_item_of_a_pair_is_the_secret_and_a_masked_one_without_a_previous_becomes_null():
    """Guzzle's ``auth: [user, password]``: the path ``configuration.auth.1`` names the password."""
    secrets = Secrets.for_settings(Settings(secret_key="k"))
    paths = ["configuration.*", "configuration.auth.1"]
    stored = {"configuration": {"auth": ["alice", "pw"]}}
    seal(stored, paths, secrets)
    assert stored["configuration"]["auth"][0] == "alice" and is_encrypted(stored["configuration"]["auth"][1])
    assert mask(stored, paths) == {"configuration": {"auth": ["alice", MASK]}}
    echoed = mask(stored, paths)
    seal(echoed, paths, secrets, stored)
    assert echoed == stored
    unknown = {"configuration": {"auth": ["bob", MASK]}}
    seal(unknown, paths, secrets, {"configuration": {"auth": ["bob"]}})
    assert unknown == {"configuration": {"auth": ["bob", None]}}
    assert reveal(stored, ["configuration.auth.5", "configuration.auth.x"], secrets) == stored


def test_an_object_adds_its_own_secret_paths_to_its_schemas():
    schema = {"configuration": {"secretProperties": ["password"], "secretPathsProperty": "secretFields"}}
    listed = ["configuration.headers.X-Custom", "", 5, "url:location", "query.access"]
    assert secret_paths(schema, {"secretFields": listed}) == [
        "password",
        "configuration.headers.X-Custom",
        "query.access",
    ]
    assert secret_paths(schema, {"secretFields": "password2"}) == ["password"]
    assert secret_paths(schema, None) == ["password"]
    assert secret_paths({"configuration": {"secretProperties": ["a"]}}, {"secretFields": ["b"]}) == ["a"]
    assert secret_paths({}, {"secretFields": ["b"]}) == []


@pytest.mark.parametrize(
    ("paths", "obj"),
    [
        (["*", "X-Auth.1"], {"X-Auth": ["u", "p"], "token": "t"}),
        (["a.b.*", "a.b.auth.1"], {"a": {"b": {"auth": ["u", "p"], "token": "t"}}}),
        (["*", "url:auth.location"], {"auth": {"location": "https://u:p@h/"}, "token": "t"}),
    ],
    ids=["top level", "two levels down", "a URL inside"],
)
def test_a_star_leaves_a_value_that_a_more_precise_path_goes_through_to_that_path(paths, obj):
    """``*`` names every sensitive key, except one that another path goes into: the more
    precise path says which part of it is secret (the password, not the user)."""
    secrets = Secrets.for_settings(Settings(secret_key="k"))
    sealed = json.loads(json.dumps(obj))
    seal(sealed, paths, secrets)
    flat = json.dumps(sealed)
    assert '"u"' in flat or "https://u:" in flat  # the user stays readable
    assert '"t"' not in flat and '"p"' not in flat and ":p@" not in flat
    assert reveal(sealed, paths, secrets) == obj


def test_a_list_index_past_the_end_and_a_top_level_list_of_secrets():
    secrets = Secrets.for_settings(Settings(secret_key="k"))
    pair = {"auth": ["u", "p"]}
    seal(pair, ["auth.2"], secrets)  # no third item: nothing to seal
    assert pair == {"auth": ["u", "p"]}
    keys = {"keys": [MASK, "k2"]}
    seal(keys, ["keys"], secrets)  # a masked item with nothing before it: dropped
    assert reveal(keys, ["keys"], secrets) == {"keys": ["k2"]}
