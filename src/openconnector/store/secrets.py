"""Encryption of secrets at rest (passwords, tokens, client secrets, API keys).

Fernet (AES-128-CBC + HMAC) with a key from ``OPENCONNECTOR_SECRET_KEY`` or, when
that is unset, a key generated once into ``<data dir>/secret.key`` with mode 0600.
Encrypted values are stored as ``"enc:v1:<token>"`` so a reader can tell them from
plain text and never decrypts by accident.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from .settings import Settings

PREFIX = "enc:v1:"


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

    def encrypt(self, value: str) -> str:
        if is_encrypted(value):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str:
        if not is_encrypted(value):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise ValueError("a stored secret cannot be decrypted with this instance's key") from None


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


#: What an API answer shows in place of a stored secret.
MASK = "********"

_SENSITIVE = (
    "authorization",
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "cookie",
    "signature",
    "credential",
    "assertion",
)


def is_sensitive(name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith(("url", "uri", "location", "type", "method", "name")):
        return False  # tokenUrl, tokenLocation, keyName: where a secret goes, not the secret
    return any(word in lowered for word in _SENSITIVE)


def _walk(obj: dict, path: str):  # type: ignore[no-untyped-def]
    """Yield ``(container, key)`` for each value ``path`` names in ``obj``.

    A path is dotted; a last segment ``*`` names every key of that object whose
    name looks sensitive (``Authorization``, ``X-Api-Key``, ``client_secret``...).
    """
    *parents, last = path.split(".")
    node = obj
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
    if last == "*":
        for key in list(node):
            if is_sensitive(key) and isinstance(node[key], str):
                yield node, key
    elif last in node and isinstance(node[last], str) and node[last] != "":
        yield node, last
    elif last in node and isinstance(node[last], list):
        # A list of secrets (an authentication rule's API keys): each string item is one.
        items = node[last]
        for index, item in enumerate(items):
            if isinstance(item, str) and item != "":
                yield items, index


def seal(obj: dict, paths: list[str], secrets: Secrets, previous: dict | None = None) -> None:
    """Encrypt the secrets of ``obj`` in place; a masked value keeps the previous secret."""
    for path in paths:
        for container, key in list(_walk(obj, path)):
            value = container[key]
            if value == MASK:
                old = _lookup(previous, path, key)
                if old is not None:
                    container[key] = old
                elif isinstance(container, list):
                    container[key] = ""  # an unknown masked list item is dropped below
                else:
                    del container[key]
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


def mask(obj: dict, paths: list[str]) -> dict:
    """A copy of ``obj`` with every secret replaced by :data:`MASK` (never the ciphertext)."""
    import copy

    out = copy.deepcopy(obj)
    for path in paths:
        for container, key in list(_walk(out, path)):
            container[key] = MASK
    return out


def reveal(obj: dict, paths: list[str], secrets: Secrets) -> dict:
    """A copy of ``obj`` with secrets decrypted, for the code that makes the call."""
    import copy

    out = copy.deepcopy(obj)
    for path in paths:
        for container, key in list(_walk(out, path)):
            container[key] = secrets.decrypt(container[key])
    return out


def _lookup(previous: dict | None, path: str, key: str | int) -> str | None:
    if not previous:
        return None
    *parents, last = path.split(".")
    node = previous
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(key, int):  # an item of a list of secrets: the previous list's item at that place
        items = node.get(last) if isinstance(node, dict) else None
        value = items[key] if isinstance(items, list) and key < len(items) else None
    else:
        value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, str) else None
