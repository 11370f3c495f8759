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
            return self._fernet.decrypt(value[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise ValueError("a stored secret cannot be decrypted with this instance's key") from None


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)
