"""Consumers calling in: their API keys and signed JWTs checked against the ``consumer`` entities.

A consumer (``authorizationType`` ``apiKey`` or ``jwt``) is another system allowed to
call this one: endpoints with an authentication rule (``connector/rules.py``), ZGW
notifications and webhooks (``api/events.py``). A JWT names its consumer in a claim
(``iss`` for endpoints; for notifications also ``client_id``, as the ZGW APIs sign
theirs) and is verified with the consumer's ``authorizationConfiguration``::

    {"authorizationType": "jwt",
     "authorizationConfiguration": {"algorithm": "HS256", "secret": "<shared secret>"}}
    {"authorizationType": "jwt",
     "authorizationConfiguration": {"algorithm": "RS256", "publicKey": "-----BEGIN PUBLIC KEY-----..."}}

``iat`` is required; without ``exp`` a token lives an hour after ``iat`` (as the original).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from typing import Any

from ..context import Context
from .entities import EntityService

JWT_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
#: Seconds a token without ``exp`` stays valid after its ``iat``.
JWT_DEFAULT_LIFETIME = 3600
#: Seconds of clock difference tolerated between the signer and this server.
LEEWAY = 30


class ConsumerRefused(Exception):
    """The credentials do not admit any consumer; ``reason`` says why (shown to the caller)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts, the first a JSON header: a JWT, not an API key."""
    import jwt

    if token.count(".") != 2:
        return False
    try:
        jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    return True


def verify_jwt(
    token: str, consumers: Iterable[dict[str, Any]], claims: tuple[str, ...] = ("iss",)
) -> dict[str, Any]:
    """The ``jwt`` consumer the token names in the first of ``claims`` it has and whose key
    verifies it; :class:`ConsumerRefused` otherwise. ``consumers`` carry their secrets."""
    import jwt

    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError as exc:
        raise ConsumerRefused(f"The token is not a JWT: {exc}") from None
    named = next((str(unverified[c]) for c in claims if unverified.get(c)), None)
    if not named:
        wanted = " or ".join(claims)
        raise ConsumerRefused(f"The token has no {wanted} claim (the consumer's name)")
    consumer = next(
        (
            c
            for c in consumers
            if str(c.get("authorizationType") or "").lower() == "jwt"
            and named in (c.get("name"), (c.get("authorizationConfiguration") or {}).get("clientId"))
        ),
        None,
    )
    if consumer is None:
        raise ConsumerRefused(f"No JWT consumer named {named!r} may use this endpoint")
    config = consumer.get("authorizationConfiguration") or {}
    key = config.get("publicKey") or config.get("secret") or config.get("key")
    expected = str(config.get("algorithm") or "HS256").upper()
    if not key:
        raise ConsumerRefused(f"Consumer {named!r} has no key to verify tokens with")
    if algorithm != expected or algorithm not in JWT_ALGORITHMS:
        raise ConsumerRefused(f"The token is signed with {algorithm}, the consumer expects {expected}")
    try:
        verified = jwt.decode(token, key, algorithms=[expected], options={"require": ["iat"]}, leeway=LEEWAY)
    except jwt.ExpiredSignatureError:
        raise ConsumerRefused("The token has expired") from None
    except jwt.MissingRequiredClaimError:
        raise ConsumerRefused("The token has no iat claim") from None
    except jwt.PyJWTError as exc:
        raise ConsumerRefused(f"The token is not valid: {exc}") from None
    iat = verified.get("iat")
    if "exp" not in verified and isinstance(iat, int | float) and iat + JWT_DEFAULT_LIFETIME < time.time():
        raise ConsumerRefused("The token has expired (no exp: tokens live an hour after iat)")
    if isinstance(iat, int | float) and iat > time.time() + LEEWAY:
        raise ConsumerRefused("The token was issued in the future (iat)")
    return consumer


def consumer_for_key(context: Context, given: str) -> str | None:
    """The name of the consumer whose API key (``authorizationConfiguration.key``/``apiKey``/``token``) is ``given``."""
    for prefix in ("bearer ", "apikey ", "token "):
        if given.lower().startswith(prefix):
            given = given[len(prefix) :].strip()
    if not given:
        return None
    for consumer in _consumers(context):
        config = consumer.get("authorizationConfiguration") or {}
        for field in ("key", "apiKey", "token"):
            key = config.get(field)
            if isinstance(key, str) and key and hmac.compare_digest(key.encode(), given.encode()):
                return str(consumer.get("name") or consumer["uuid"])
    return None


def consumer_for_jwt(context: Context, token: str) -> str:
    """The name of the consumer that signed ``token`` (ZGW style: ``client_id``, else ``iss``);
    :class:`ConsumerRefused` with the reason otherwise."""
    consumer = verify_jwt(token, _consumers(context), claims=("client_id", "iss"))
    return str(consumer.get("name") or consumer["uuid"])


def _consumers(context: Context) -> list[dict[str, Any]]:
    consumers = EntityService("consumer", context)
    return [consumers.get_with_secrets(listed["uuid"]) for listed in consumers.list()]
