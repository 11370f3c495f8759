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
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "install_log_redaction",
    "redact_log_text",
    "remember_secrets",
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
_SECRET_HEADER_PARTS = (
    "token",
    "secret",
    "key",
    "password",
    "session",
    "signature",
    "auth",
    "cookie",
    "credential",
)
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
        "access",
        "access_key",
        "accesskey",
        "auth",
        "jwt",
        "session",
        "sessionid",
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

    The same paths that are encrypted at rest (``register/builtin.py``
    ``SOURCE_SECRETS``: ``authenticationConfig``, credential headers and query
    parameters, ``configuration.auth`` ``[user, pass]``, the password and
    credential query values of ``location``) plus the paths the source's user
    marked secret (``secretFields``); numbers count as written. A ``Bearer xyz``
    or ``Basic xyz`` header contributes both the whole value and ``xyz``; a Basic
    header also its decoded password. Every value found is also remembered for
    the log redaction of this process (``remember_secrets``).
    """
    from openconnector.register.builtin import SOURCE_SECRETS
    from openconnector.store.secrets import secret_paths, secret_values

    schema = {"configuration": {"secretProperties": SOURCE_SECRETS, "secretPathsProperty": "secretFields"}}
    found: list[str] = []
    for value in secret_values(dict(source), secret_paths(schema, dict(source))):
        found.extend(_header_secrets(value))
    secrets = [s for s in dict.fromkeys(found) if len(s) >= _MIN_SECRET_LENGTH]
    remember_secrets(secrets)
    return secrets


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


# -- every log line of the process -----------------------------------------------------

#: Secret values met in this process (sources' credentials as they were called),
#: oldest first; redacted from every log line whatever their name.
_known: dict[str, None] = {}
_known_lock = threading.Lock()
_MAX_KNOWN = 10_000

_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
_PAIR_IN_TEXT = re.compile(r"(?<=[?&;])([^=&\s\"'#?]+)=([^&\s\"'#]*)")


def remember_secrets(values: Iterable[str]) -> None:
    """Add secret values to the ones every log line of this process is cleaned of."""
    with _known_lock:
        for value in values:
            if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH and value not in _known:
                _known[value] = None
                if len(_known) > _MAX_KNOWN:
                    del _known[next(iter(_known))]


def redact_log_text(text: str) -> str:
    """``text`` without secrets: URLs' passwords and credential query values (by
    name, also in a bare ``/path?token=x``), and every remembered secret value."""
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    if "=" in text:
        text = _PAIR_IN_TEXT.sub(
            lambda m: f"{m.group(1)}={REDACTED}" if is_secret_param(m.group(1)) else m.group(0), text
        )
    with _known_lock:
        known = list(_known)
    return redact_text(text, known) if known else text


def _redact_arg(value: Any) -> Any:
    if isinstance(value, int | float | bool) or value is None:
        return value
    text = value if isinstance(value, str) else str(value)
    clean = redact_log_text(text)
    return value if clean == text else clean


def _redact_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, str):
        record.msg = redact_log_text(record.msg)
    elif record.msg is not None:
        record.msg = _redact_arg(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_arg(a) for a in record.args)
    elif isinstance(record.args, Mapping):
        record.args = {k: _redact_arg(v) for k, v in record.args.items()}
    if record.exc_info and not record.exc_text:
        record.exc_text = redact_log_text(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact_log_text(record.stack_info)


_installed = False


def install_log_redaction() -> None:
    """Make every log record of this process pass through redaction, and keep the
    HTTP client's per-request lines (every outgoing URL, at INFO) out of the log.

    A record factory, not a handler filter: it also covers handlers configured
    later (uvicorn's own, a library's) and records that never reach the root.
    Idempotent.
    """
    global _installed
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            _redact_record(record)
        except Exception:  # noqa: BLE001 - a log line must never break the caller
            record.msg, record.args = "(log line withheld: it could not be redacted)", ()
        return record

    logging.setLogRecordFactory(factory)
