"""Encryption of secrets at rest (passwords, tokens, client secrets, API keys).

Fernet (AES-128-CBC + HMAC) with a key from ``OPENCONNECTOR_SECRET_KEY`` or, when
that is unset, a key generated once into ``<data dir>/secret.key`` with mode 0600.
Encrypted values are stored as ``"enc:v1:<token>"`` (``"enc:v1j:<token>"`` for a
value that was a number or an object) so a reader can tell them from plain text and
never decrypts by accident.

Which values are secret is said per schema (``configuration.secretProperties``, a
list of paths, see :func:`seal`) and, for objects that let their users mark values
secret, per object (the list in the property ``configuration.secretPathsProperty``
names). The same walk seals on save, masks in every answer and reveals for the call,
so a secret is handled alike wherever it is put.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

from .settings import Settings

PREFIX = "enc:v1:"
#: A sealed value that was not a string (its JSON text is what is encrypted).
JSON_PREFIX = "enc:v1j:"


class Secrets:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def for_settings(cls, settings: Settings) -> Secrets:
        if settings.secret_key:
            digest = hashlib.sha256(settings.secret_key.encode()).digest()
            return cls(base64.urlsafe_b64encode(digest))
        path = Path(settings.data_dir) / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def encrypt(self, value: Any) -> str:
        """Seal ``value``: a string as it is, any other JSON value (a password given as a
        number, a key given as an object) as its JSON text, so ``decrypt`` gives back the
        same type."""
        if is_encrypted(value):
            return value
        if isinstance(value, str):
            return PREFIX + self._fernet.encrypt(value.encode()).decode()
        return JSON_PREFIX + self._fernet.encrypt(orjson.dumps(value)).decode()

    def decrypt(self, value: Any) -> Any:
        if not is_encrypted(value):
            return value
        as_json = value.startswith(JSON_PREFIX)
        token = value[len(JSON_PREFIX if as_json else PREFIX) :]
        try:
            plain = self._fernet.decrypt(token.encode())
        except InvalidToken:
            raise ValueError("a stored secret cannot be decrypted with this instance's key") from None
        return orjson.loads(plain) if as_json else plain.decode()


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith((PREFIX, JSON_PREFIX))


#: What an API answer shows in place of a stored secret.
MASK = "********"

_SENSITIVE = (
    "authorization",
    "auth",
    "token",
    "secret",
    "password",
    "passwd",
    "pass",
    "key",
    "cookie",
    "session",
    "signature",
    "credential",
    "assertion",
)


def is_sensitive(name: str) -> bool:
    """Whether a field, header or parameter with this name holds a credential.

    ``Authorization``, ``X-Api-Key``, ``X-Auth-Token``, ``client_secret``, ``Cookie``,
    ``password``... are; ``tokenUrl``, ``tokenLocation``, ``keyName``, ``authType``
    (where a secret goes or what kind it is) are not.
    """
    lowered = name.lower()
    if lowered.endswith(("url", "uri", "location", "type", "method", "name", "user", "username", "author")):
        return False
    return any(word in lowered for word in _SENSITIVE)


def secret_paths(schema: dict, obj: dict | None = None) -> list[str]:
    """The secret paths of ``obj`` under ``schema``: the schema's, plus the ones the
    object itself lists (``configuration.secretPathsProperty``)."""
    config = schema.get("configuration") or {}
    paths = list(config.get("secretProperties") or [])
    own = config.get("secretPathsProperty")
    if own and isinstance(obj, dict):
        listed = obj.get(own)
        if isinstance(listed, list):
            paths.extend(p for p in listed if isinstance(p, str) and p and not p.startswith(URL))
    return paths


#: A path starting with this names a URL whose password and credential-named query
#: values are secret (``url:location``), the rest of it stays readable.
URL = "url:"


def _present(value: object) -> bool:
    return value is not None and value != "" and not isinstance(value, bool)


def _traversed(paths: list[str]) -> frozenset[str]:
    """Every path that another path goes through (``configuration.auth`` for
    ``configuration.auth.1``): a ``*`` leaves those to the more precise path."""
    out: set[str] = set()
    for path in paths:
        parts = path.removeprefix(URL).split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return frozenset(out)


def _walk(obj: dict, path: str, skip: frozenset[str] = frozenset()):  # type: ignore[no-untyped-def]
    """Yield ``(container, key)`` for each value ``path`` names in ``obj``.

    A path is dotted; a segment that is a number indexes a list (``configuration.auth.1``,
    Guzzle's ``[user, password]``); a last segment ``*`` names every key of that object
    whose name looks sensitive (``Authorization``, ``X-Api-Key``, ``client_secret``...).
    Values of any type but ``null``, ``""`` and booleans are secrets: a password may be
    given as a number, a key as an object.
    """
    if path.startswith(URL):
        path = path[len(URL) :]
    *parents, last = path.split(".")
    node: Any = obj
    for part in parents:
        node = _child(node, part)
        if not isinstance(node, dict | list):
            return
    if last == "*":
        if isinstance(node, dict):
            here = ".".join(parents)
            for key in list(node):
                if (
                    isinstance(key, str)
                    and is_sensitive(key)
                    and _present(node[key])
                    and f"{here}.{key}".lstrip(".") not in skip
                ):
                    yield node, key
        return
    if isinstance(node, list):
        if last.isdigit() and int(last) < len(node) and _present(node[int(last)]):
            yield node, int(last)
    elif (
        isinstance(node, dict)
        and isinstance(node.get(last), list)
        and all(isinstance(item, str) for item in node[last])
    ):
        # A list of secrets (an authentication rule's API keys): each string item is one.
        items = node[last]
        for index, item in enumerate(items):
            if item != "":
                yield items, index
    elif isinstance(node, dict) and last in node and _present(node[last]):
        yield node, last


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


def seal(obj: dict, paths: list[str], secrets: Secrets, previous: dict | None = None) -> None:
    """Encrypt the secrets of ``obj`` in place; a masked value keeps the previous secret."""
    skip = _traversed(paths)
    for path in paths:
        for container, key in list(_walk(obj, path, skip)):
            value = container[key]
            if path.startswith(URL):
                if isinstance(value, str):
                    old = _lookup(previous, path)
                    container[key] = seal_url(value, secrets, old if isinstance(old, str) else None)
            elif value == MASK:
                old = _lookup(previous, path, key)
                if old is not None:
                    container[key] = old
                elif isinstance(container, list) and str(key) != path.rsplit(".", 1)[-1]:
                    container[key] = ""  # an unknown masked item of a list of secrets: dropped below
                else:
                    _drop(container, key)
            else:
                container[key] = secrets.encrypt(value)
        for container, key in _lists(obj, path):
            container[key] = [v for v in container[key] if v != ""]


def _lists(obj: dict, path: str):  # type: ignore[no-untyped-def]
    """``(container, key)`` when ``path`` names a list in ``obj``."""
    *parents, last = path.split(".")
    node = obj
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict) and isinstance(node.get(last), list):
        yield node, last


def _drop(container: Any, key: Any) -> None:
    if isinstance(container, dict):
        del container[key]
    else:
        container[key] = None


def mask(obj: dict, paths: list[str]) -> dict:
    """A copy of ``obj`` with every secret replaced by :data:`MASK` (never the ciphertext)."""
    import copy

    out = copy.deepcopy(obj)
    skip = _traversed(paths)
    for path in paths:
        for container, key in list(_walk(out, path, skip)):
            if path.startswith(URL):
                if isinstance(container[key], str):
                    container[key] = _rewrite_url(container[key], lambda _slot, _value: MASK)
            else:
                container[key] = MASK
    return out


def reveal(obj: dict, paths: list[str], secrets: Secrets) -> dict:
    """A copy of ``obj`` with secrets decrypted, for the code that makes the call."""
    import copy

    out = copy.deepcopy(obj)
    skip = _traversed(paths)
    for path in paths:
        for container, key in list(_walk(out, path, skip)):
            if path.startswith(URL):
                if isinstance(container[key], str):
                    container[key] = _rewrite_url(container[key], lambda _slot, v: secrets.decrypt(v))
            else:
                container[key] = secrets.decrypt(container[key])
    return out


def _lookup(previous: dict | None, path: str, key: Any = None) -> Any:
    if not previous:
        return None
    if path.startswith(URL):
        path = path[len(URL) :]
    *parents, last = path.split(".")
    node: Any = previous
    for part in parents:
        node = _child(node, part)
    if isinstance(key, int) and str(key) != last:
        node = _child(node, last)  # an item of a list of secrets: the previous list's item at that place
    value = _child(node, str(key) if key is not None else last)
    return value if _present(value) else None


def secret_values(obj: dict, paths: list[str]) -> list[str]:
    """Every secret of ``obj`` in clear text, for redaction by value: strings as they
    are, numbers as written, the leaves of objects and lists."""
    out: list[str] = []
    skip = _traversed(paths)
    for path in paths:
        for container, key in _walk(obj, path, skip):
            value = container[key]
            if path.startswith(URL):
                out.extend(url_secret_values(value) if isinstance(value, str) else [])
            else:
                out.extend(_leaves(value))
    return [v for v in dict.fromkeys(out) if v and v != MASK]


def _leaves(value: Any) -> list[str]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, str | int | float):
        return [str(value)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return []


# -- secrets inside a URL --------------------------------------------------------------


def url_secret_slots(url: str) -> list[tuple[int, int, str]]:
    """``(start, end, slot)`` of the secret parts of ``url``, as it is written.

    The password of the userinfo (slot ``"password"``) and the value of every query
    parameter whose name is a credential's (slot ``"query:<name>"``). Working on the
    text, not a parsed URL, keeps every other character exactly as the user wrote it.
    """
    from urllib.parse import unquote_plus

    from ..connector.redaction import is_secret_param

    slots: list[tuple[int, int, str]] = []
    scheme_end = url.find("://")
    if scheme_end >= 0:
        start = scheme_end + 3
        end = len(url)
        for stop in "/?#":
            at = url.find(stop, start)
            if at >= 0:
                end = min(end, at)
        authority = url[start:end]
        if "@" in authority:
            userinfo = authority[: authority.rindex("@")]
            if ":" in userinfo:
                colon = start + userinfo.index(":")
                slots.append((colon + 1, start + len(userinfo), "password"))
    query_at = url.find("?")
    if query_at >= 0:
        fragment = url.find("#", query_at)
        query_end = fragment if fragment >= 0 else len(url)
        position = query_at + 1
        for pair in url[query_at + 1 : query_end].split("&"):
            name, equals, _value = pair.partition("=")
            if equals and is_secret_param(unquote_plus(name)):
                slots.append((position + len(name) + 1, position + len(pair), f"query:{unquote_plus(name)}"))
            position += len(pair) + 1
    return [slot for slot in slots if slot[1] > slot[0]]


def _rewrite_url(url: str, change) -> str:  # type: ignore[no-untyped-def]
    """``url`` with each secret part replaced by ``change(slot, value)``."""
    out = url
    for start, end, slot in sorted(url_secret_slots(url), reverse=True):
        out = out[:start] + str(change(slot, url[start:end])) + out[end:]
    return out


def seal_url(url: str, secrets: Secrets, previous: str | None = None) -> str:
    """``url`` with its password and credential query values encrypted; a masked part
    keeps the previous URL's secret in that slot."""
    before = {slot: previous[a:b] for a, b, slot in url_secret_slots(previous)} if previous else {}

    def change(slot: str, value: str) -> str:
        if value == MASK:
            return before.get(slot, "")
        return secrets.encrypt(value)

    return _rewrite_url(url, change)


def url_secret_values(url: str) -> list[str]:
    """The secret parts of ``url`` in clear (for redaction by value)."""
    return [url[a:b] for a, b, _slot in url_secret_slots(url)]
