"""Credentials for outgoing calls: none, basic, bearer, API key, OAuth2, JWT.

A source says how it authenticates with ``auth`` and ``authenticationConfig``::

    {"auth": "basic",  "authenticationConfig": {"username": "alice", "password": "..."}}
    {"auth": "bearer", "authenticationConfig": {"token": "..."}}
    {"auth": "apikey", "authenticationConfig": {"key": "...", "name": "X-Api-Key", "in": "header"}}
    {"auth": "oauth2", "authenticationConfig": {"tokenUrl": "https://id.example.com/token",
        "clientId": "...", "clientSecret": "...", "scope": "read", "authentication": "body"}}
    {"auth": "jwt",    "authenticationConfig": {"algorithm": "HS256", "secret": "...",
        "payload": {"iss": "openconnector", "client_id": "..."}}}

``Authenticator.credentials(source)`` turns that into headers and query
parameters to add to the request, plus the secret values the redactor must
hide (derived ones too: an OAuth2 access token or a signed JWT).

Configurations of the original keep token settings in
``configuration.authentication`` and reference them from a header::

    {"configuration": {"headers": {"Authorization": "Bearer {{ oauthToken(source) }}"},
        "authentication": {"grant_type": "client_credentials", "tokenUrl": "...",
                           "client_id": "...", "client_secret": "...", "scope": "..."}}}

``render_token_functions`` fills in ``oauthToken(source)``/``jwtToken(source)``
with the same machinery, so such sources work without the Twig engine.

OAuth2 tokens are cached per (tokenUrl, clientId, scope, client secret) until
shortly before they expire (across processes: ``connector/tokens.py``); the original fetched a new token for every call (reference §5),
which token endpoints with rate limits punish. A 401 from the API drops the
cached token (``invalidate``) so the next attempt fetches a fresh one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import orjson
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():
    # Authlib >= 1.7 prefers the httpx2 package and warns when it falls back to
    # httpx, which is what this project uses; the fallback works the same.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

from openconnector.connector.records import MISSING, get_path
from openconnector.connector.redaction import redact_text, redact_url
from openconnector.errors import BadRequest, SourceRejected, SourceUnavailable

__all__ = [
    "AUTH_METHODS",
    "JWT_ALGORITHMS",
    "Authenticator",
    "Credentials",
    "TokenCache",
    "auth_method",
    "has_token_function",
]

#: Accepted ``auth`` values (case-insensitive) and their canonical name.
AUTH_METHODS: dict[str, str] = {
    "": "none",
    "none": "none",
    "basic": "basic",
    "bearer": "bearer",
    "apikey": "apikey",
    "api_key": "apikey",
    "api-key": "apikey",
    "oauth": "oauth2",
    "oauth2": "oauth2",
    "jwt": "jwt",
}

JWT_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256")

_REQUIRED: dict[str, tuple[str, ...]] = {
    "basic": ("username", "password"),
    "bearer": ("token",),
    "apikey": ("key",),
    "oauth2": ("tokenUrl", "clientId", "clientSecret"),
}

#: Seconds before ``expires_in`` runs out at which a cached token is renewed.
TOKEN_MARGIN = 30.0
#: Lifetime assumed for a token whose response has no ``expires_in``; a 401
#: still drops it earlier.
DEFAULT_TOKEN_LIFETIME = 3600.0


@dataclass
class Credentials:
    """What to add to one request, and which values to hide in logs."""

    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # never show credentials
        return f"Credentials(headers={sorted(self.headers)}, query={sorted(self.query)})"


class TokenCache:
    """Access tokens by (tokenUrl, clientId, scope, secret hash) with their expiry (unix time).

    One per ``CallService`` unless shared on purpose; thread-safe, and one
    lock per key so concurrent calls fetch a token once.
    """

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, key: tuple[str, ...]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: tuple[str, ...], now: float) -> str | None:
        entry = self._tokens.get(key)
        if entry and entry[1] > now:
            return entry[0]
        return None

    def put(self, key: tuple[str, ...], token: str, expires_at: float) -> None:
        self._tokens[key] = (token, expires_at)

    def drop(self, key: tuple[str, ...]) -> None:
        self._tokens.pop(key, None)

    def __len__(self) -> int:
        return len(self._tokens)


def auth_method(source: Mapping[str, Any]) -> str:
    """The canonical auth method of a source; unknown names are a ``BadRequest``."""
    raw = source.get("auth")
    name = str(raw or "").strip().lower()
    if name not in AUTH_METHODS:
        valid = ", ".join(sorted(set(AUTH_METHODS.values())))
        raise BadRequest(
            f'Source "{source.get("name", "")}" has an unknown auth method "{raw}"; valid: {valid}',
            auth=raw,
        )
    return AUTH_METHODS[name]


def _settings(source: Mapping[str, Any], method: str, where: str = "authenticationConfig") -> dict[str, Any]:
    settings = dict(source.get("authenticationConfig") or {})
    missing = [key for key in _REQUIRED.get(method, ()) if settings.get(key) in (None, "")]
    if method == "jwt":
        algorithm = str(settings.get("algorithm") or "HS256").upper()
        if algorithm not in JWT_ALGORITHMS:
            raise BadRequest(
                f'Unsupported JWT algorithm "{settings.get("algorithm")}"; valid: {", ".join(JWT_ALGORITHMS)}',
                algorithm=settings.get("algorithm"),
            )
        needed = "secret" if algorithm.startswith("HS") else "privateKey"
        if settings.get(needed) in (None, ""):
            missing.append(needed)
    if missing:
        raise BadRequest(
            f'Source "{source.get("name", "")}" uses auth "{method}" but {where} lacks: '
            + ", ".join(missing),
            missing=missing,
        )
    return settings


class Authenticator:
    """Turns a source's auth settings into request credentials.

    ``on_token_response`` receives each token-endpoint response (already
    read) and its duration in ms, so that token calls get call logs too.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        token_cache: TokenCache | None = None,
        on_token_response: Callable[[httpx.Response, float], None] | None = None,
    ) -> None:
        self.clock = clock
        self.token_cache = token_cache if token_cache is not None else TokenCache()
        self.on_token_response = on_token_response

    def credentials(
        self, source: Mapping[str, Any], *, timeout: float = 30.0, verify: Any = True
    ) -> Credentials:
        """Headers/query to add for ``source``; fetches an OAuth2 token when needed."""
        method = auth_method(source)
        if method == "none":
            return Credentials()
        settings = _settings(source, method)
        if method == "basic":
            pair = f"{settings['username']}:{settings['password']}".encode()
            encoded = base64.b64encode(pair).decode()
            return Credentials(
                headers={"Authorization": f"Basic {encoded}"},
                secrets=[str(settings["password"]), encoded],
            )
        if method == "bearer":
            token = str(settings["token"])
            return self._header(settings, token, [token])
        if method == "apikey":
            key = str(settings["key"])
            name = str(settings.get("name") or "X-Api-Key")
            where = str(settings.get("in") or "header").lower()
            if where not in ("header", "query"):
                raise BadRequest(
                    f'authenticationConfig.in must be "header" or "query", not "{settings.get("in")}"',
                )
            if where == "query":
                return Credentials(query={name: key}, secrets=[key])
            return Credentials(headers={name: key}, secrets=[key])
        if method == "oauth2":
            token = self._oauth2_token(settings, timeout=timeout, verify=verify)
            return self._header(settings, token, [token, str(settings["clientSecret"])])
        token = self._jwt(settings)
        secret_values = [token] + [str(settings[k]) for k in ("secret", "privateKey") if settings.get(k)]
        return self._header(settings, token, secret_values)

    @staticmethod
    def _header(settings: Mapping[str, Any], token: str, secrets: list[str]) -> Credentials:
        """``Authorization: Bearer <token>``, or a custom ``header``/``prefix``."""
        name = str(settings.get("header") or "Authorization")
        default_prefix = "Bearer" if name.lower() == "authorization" else ""
        prefix = settings.get("prefix", default_prefix)
        value = f"{prefix} {token}" if prefix else token
        return Credentials(headers={name: value}, secrets=secrets)

    # -- the original's {{ oauthToken(source) }} / {{ jwtToken(source) }} -------------------

    def render_token_functions(
        self, value: str, source: Mapping[str, Any], *, timeout: float = 30.0, verify: Any = True
    ) -> tuple[str, list[str]]:
        """Replace ``{{ oauthToken(source) }}``/``{{ jwtToken(source) }}`` in ``value``.

        Settings come from ``configuration.authentication`` in the original's
        snake_case keys. Returns the new value and the tokens, to redact.
        """
        tokens: list[str] = []

        def token_for(match: re.Match[str]) -> str:
            kind = "oauth2" if match.group(1) == "oauthToken" else "jwt"
            settings = _settings(_original_style(source, kind), kind, "configuration.authentication")
            if kind == "oauth2":
                token = self._oauth2_token(settings, timeout=timeout, verify=verify)
            else:
                token = self._jwt(settings)
            tokens.append(token)
            return token

        return _TOKEN_FUNCTION.sub(token_for, value), tokens

    # -- OAuth2 client credentials --------------------------------------------------------

    @staticmethod
    def _cache_key(settings: Mapping[str, Any]) -> tuple[str, ...]:
        """Token URL, client id, scope and a hash of the client secret: a rotated secret misses."""
        secret = hashlib.sha256(str(settings["clientSecret"]).encode()).hexdigest()
        return (
            str(settings["tokenUrl"]),
            str(settings["clientId"]),
            str(settings.get("scope") or ""),
            secret,
        )

    def invalidate(self, source: Mapping[str, Any]) -> bool:
        """Drop the cached OAuth2 token of ``source`` (after a 401); True if it had one."""
        had = False
        candidates = [source.get("authenticationConfig") or {} if auth_method(source) == "oauth2" else {}]
        candidates.append(_original_style(source, "oauth2")["authenticationConfig"])
        for settings in candidates:
            if all(settings.get(k) for k in _REQUIRED["oauth2"]):
                key = self._cache_key(settings)
                had = had or self.token_cache.get(key, self.clock()) is not None
                self.token_cache.drop(key)
        return had

    def _oauth2_token(self, settings: Mapping[str, Any], *, timeout: float, verify: Any) -> str:
        key = self._cache_key(settings)
        cached = self.token_cache.get(key, self.clock())
        if cached:
            return cached
        with self.token_cache.lock(key):
            cached = self.token_cache.get(key, self.clock())
            if cached:
                return cached
            token, lifetime = self._fetch_oauth2_token(settings, timeout=timeout, verify=verify)
            margin = min(TOKEN_MARGIN, lifetime / 10)
            self.token_cache.put(key, token, self.clock() + lifetime - margin)
            return token

    def _fetch_oauth2_token(
        self, settings: Mapping[str, Any], *, timeout: float, verify: Any
    ) -> tuple[str, float]:
        """POST the client-credentials grant; returns the token and its lifetime in seconds."""
        url = str(settings["tokenUrl"])
        secrets = [str(settings["clientSecret"])]
        shown = redact_url(url, secrets)
        auth_in = str(settings.get("authentication") or "body").lower()
        endpoint_auth = "client_secret_basic" if auth_in in ("basic_auth", "basic") else "client_secret_post"
        started: dict[str, float] = {}

        def on_request(request: httpx.Request) -> None:
            started["t"] = self.clock()

        def on_response(response: httpx.Response) -> None:
            response.read()
            if self.on_token_response is not None:
                self.on_token_response(response, (self.clock() - started.get("t", self.clock())) * 1000)

        try:
            with OAuth2Client(
                client_id=str(settings["clientId"]),
                client_secret=str(settings["clientSecret"]),
                scope=settings.get("scope") or None,
                token_endpoint_auth_method=endpoint_auth,
                timeout=timeout,
                verify=verify,
                event_hooks={"request": [on_request], "response": [on_response]},
            ) as client:
                token = client.fetch_token(url, grant_type="client_credentials")
        except OAuthError as exc:
            raise SourceRejected(
                f"OAuth2 token request to {shown} was refused: "
                + redact_text(f"{exc.error}: {exc.description or ''}".rstrip(": "), secrets),
                tokenUrl=shown,
            ) from None
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            error_class = SourceUnavailable if status >= 500 or status == 429 else SourceRejected
            raise error_class(
                f"OAuth2 token request to {shown} returned {status}", tokenUrl=shown, statusCode=status
            ) from None
        except httpx.TransportError as exc:
            raise SourceUnavailable(
                f"OAuth2 token request to {shown} failed: "
                + redact_text(f"{type(exc).__name__}: {exc}", secrets),
                tokenUrl=shown,
            ) from None
        except ValueError as exc:
            raise SourceRejected(
                f"OAuth2 token response of {shown} is not a JSON object: {redact_text(str(exc), secrets)}",
                tokenUrl=shown,
            ) from None
        location = str(settings.get("tokenLocation") or "access_token")
        access_token = get_path(dict(token), location)
        if access_token is MISSING or not isinstance(access_token, str) or not access_token:
            keys = ",".join(f'"{k}"' for k in token)
            raise SourceRejected(
                f'OAuth2 token response of {shown} has no "{location}"; it has keys [{keys}]',
                tokenUrl=shown,
            )
        try:
            lifetime = float(token.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        return access_token, lifetime

    # -- JWT ---------------------------------------------------------------------------------

    def _jwt(self, settings: Mapping[str, Any]) -> str:
        """Sign the configured claims, adding ``iat`` and ``exp`` (``expiresIn`` s, default 300)."""
        algorithm = str(settings.get("algorithm") or "HS256").upper()  # checked by _settings
        payload = settings.get("payload") or {}
        if isinstance(payload, str):
            try:
                payload = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise BadRequest(f"authenticationConfig.payload is not valid JSON: {exc}") from None
        if not isinstance(payload, Mapping):
            raise BadRequest("authenticationConfig.payload must be an object of claims")
        now = int(self.clock())
        claims = dict(payload)
        claims.setdefault("iat", now)
        claims.setdefault("exp", now + int(settings.get("expiresIn") or 300))
        headers: dict[str, Any] = {"typ": "JWT"}
        if settings.get("x5t"):
            headers["x5t"] = settings["x5t"]
        key: Any = settings["secret"] if algorithm.startswith("HS") else _pem(str(settings["privateKey"]))
        try:
            return jwt.encode(claims, key, algorithm=algorithm, headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            # Key parsing errors never contain the key itself, but be safe.
            secret_values = [str(settings.get("secret") or ""), str(settings.get("privateKey") or "")]
            raise BadRequest(
                f"Cannot sign a {algorithm} JWT with the configured key: "
                + redact_text(f"{type(exc).__name__}: {exc}", secret_values)
            ) from None


_TOKEN_FUNCTION = re.compile(r"\{\{\s*(oauthToken|jwtToken)\(\s*source\s*\)\s*\}\}")

#: The original's ``configuration.authentication`` keys → ours.
_ORIGINAL_KEYS = {
    "tokenUrl": "tokenUrl",
    "token_url": "tokenUrl",
    "client_id": "clientId",
    "client_secret": "clientSecret",
    "scope": "scope",
    "authentication": "authentication",
    "tokenLocation": "tokenLocation",
    "algorithm": "algorithm",
    "secret": "secret",
    "private_key": "privateKey",
    "payload": "payload",
    "x5t": "x5t",
}


def has_token_function(value: Any) -> bool:
    """Whether a header/query value uses ``{{ oauthToken(source) }}`` or ``{{ jwtToken(source) }}``."""
    return isinstance(value, str) and _TOKEN_FUNCTION.search(value) is not None


def _original_style(source: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """A shadow source whose ``authenticationConfig`` is the original's ``configuration.authentication``."""
    configuration = source.get("configuration") or {}
    raw = configuration.get("authentication") or {}
    if not isinstance(raw, Mapping):
        raw = {}
    settings = {_ORIGINAL_KEYS.get(k, k): v for k, v in raw.items()}
    return {"name": source.get("name", ""), "auth": kind, "authenticationConfig": settings}


def _pem(value: str) -> str:
    """A PEM key as given, with literal ``\\n`` fixed, or Base64 of a PEM (the original's form)."""
    value = value.replace("\\n", "\n").strip()
    if value.startswith("-----BEGIN"):
        return value
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return value
    return decoded if decoded.lstrip().startswith("-----BEGIN") else value
