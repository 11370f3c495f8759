"""Redaction of secrets in URLs, headers and free text.

Every URL, header set and error text that leaves the connector (call logs,
exception messages, reprs) passes through here first. The original app logs
rendered tokens in clear (behaviour reference §5); we do not.

Two complementary mechanisms:

* by **name**: query parameters and headers whose name looks secret
  (``Authorization``, ``X-Api-Key``, ``?api_key=``, ``*token*``...) are replaced
  by ``***`` whatever their value;
* by **value**: ``redact_text`` replaces every known secret value of a source
  (``source_secrets``) wherever it appears, e.g. inside an error message an
  API echoed back, or a URL path.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "SECRET_CONFIG_KEYS",
    "is_secret_header",
    "is_secret_param",
    "redact_headers",
    "redact_text",
    "redact_url",
    "source_secrets",
]

REDACTED = "***"

#: Keys of ``authenticationConfig`` (and of ``configuration.authentication``)
#: whose values are secrets.
SECRET_CONFIG_KEYS = frozenset(
    {"password", "token", "key", "clientSecret", "client_secret", "secret", "privateKey", "private_key"}
)

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"})
_SECRET_HEADER_PARTS = ("token", "secret", "key", "password", "session", "signature")
_SECRET_PARAMS = frozenset(
    {
        "key",
        "apikey",
        "api_key",
        "api-key",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "pwd",
        "signature",
        "sig",
    }
)
_SECRET_PARAM_PARTS = ("token", "secret", "password", "signature", "apikey", "api_key", "api-key")

# Values shorter than this are not redacted by value: replacing every "1" or
# "ab" in a log would destroy it and protect nothing.
_MIN_SECRET_LENGTH = 4


def is_secret_header(name: str) -> bool:
    """Whether a header with this name carries a credential."""
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or any(part in lowered for part in _SECRET_HEADER_PARTS)


def is_secret_param(name: str) -> bool:
    """Whether a query parameter with this name carries a credential."""
    lowered = name.lower()
    return lowered in _SECRET_PARAMS or any(part in lowered for part in _SECRET_PARAM_PARTS)


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """Return ``url`` with secret query values and userinfo passwords replaced by ``***``.

    >>> redact_url("https://u:pw@api.example.com/x?api_key=abc&page=2")
    'https://u:***@api.example.com/x?api_key=***&page=2'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url, secrets)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{host}" if colon else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_param(k) for k, _ in pairs):
            query = urlencode([(k, REDACTED if is_secret_param(k) else v) for k, v in pairs], safe="*")
    redacted = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return redact_text(redacted, secrets)


def redact_headers(headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> dict[str, Any]:
    """Return a copy of ``headers`` with credential headers replaced by ``***``.

    Accepts a mapping or ``(name, value)`` pairs; keeps names as given and
    keeps list values as lists (the call log stores ``{Name: [values]}``).
    """
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, Any] = {}
    for name, value in items:
        if is_secret_header(name):
            value = [REDACTED for _ in value] if isinstance(value, list) else REDACTED
        out[name] = value
    return out


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret value in ``text`` by ``***``.

    Also catches the URL-encoded and Base64 (``Basic``) forms, since an error
    text may quote a URL or an ``Authorization`` header.
    """
    if not text:
        return text
    variants: set[str] = set()
    for secret in secrets:
        if not secret or len(secret) < _MIN_SECRET_LENGTH:
            continue
        variants.add(secret)
        quoted = urlencode({"": secret})[1:]
        variants.add(quoted)
        variants.add(quoted.replace("+", "%20"))
    # Longest first, so that a secret containing another is replaced whole.
    for variant in sorted(variants, key=len, reverse=True):
        text = text.replace(variant, REDACTED)
    return text


def _string_values(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _string_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _string_values(item)


def source_secrets(source: Mapping[str, Any]) -> list[str]:
    """Collect the secret values of a source, for ``redact_text``.

    Looks at ``authenticationConfig`` (and the original's
    ``configuration.authentication``), literal credential headers and query
    parameters in ``configuration``, and ``configuration.auth`` ``[user, pass]``.
    A ``Bearer xyz`` or ``Basic xyz`` header contributes both the whole value
    and ``xyz``; a Basic header also its decoded password.
    """
    found: list[str] = []
    config = source.get("configuration") or {}
    for settings in (source.get("authenticationConfig") or {}, config.get("authentication") or {}):
        if isinstance(settings, Mapping):
            for key, value in settings.items():
                if key in SECRET_CONFIG_KEYS:
                    found.extend(_string_values(value))
    headers = config.get("headers") or {}
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if is_secret_header(name):
                for text in _string_values(value):
                    found.extend(_header_secrets(text))
    query = config.get("query") or {}
    if isinstance(query, Mapping):
        for name, value in query.items():
            if is_secret_param(name):
                found.extend(_string_values(value))
    auth = config.get("auth")
    if isinstance(auth, list | tuple) and len(auth) >= 2 and isinstance(auth[1], str):
        found.append(auth[1])
    return [s for s in dict.fromkeys(found) if len(s) >= _MIN_SECRET_LENGTH]


_SCHEME = re.compile(r"^\s*(\w+)\s+(\S+)\s*$")


def _header_secrets(value: str) -> list[str]:
    """The secret parts of a credential header value (``Bearer x`` → ``Bearer x``, ``x``)."""
    out = [value]
    match = _SCHEME.match(value)
    if match:
        scheme, credential = match.groups()
        out.append(credential)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credential, validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            if ":" in decoded:
                out.append(decoded.partition(":")[2])
    return out
