"""OAuth2 access tokens kept across calls, runs and processes.

The service, its scheduler and every worker process share one instance's tokens
through the ``oauth_tokens`` table, so a run or a worker does not ask the token
endpoint again while a token is valid (until ``TOKEN_MARGIN`` before it expires).
Tokens are encrypted with the instance's secret key like every stored secret. The
cache key hashes token URL, client id, scope *and* client secret: after the secret is
rotated the old token is never found, and storing the new one deletes it. Each
process keeps the tokens it has seen in memory too, so a call costs no query.
A database hiccup never fails a call: the cache then works from memory only.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..clock import now_iso
from ..context import Context
from ..store import tables as t
from .auth import TokenCache

log = logging.getLogger("openconnector.connector")

_CACHES: weakref.WeakKeyDictionary[Context, StoredTokenCache] = weakref.WeakKeyDictionary()


def _digest(parts: tuple[str, ...]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class StoredTokenCache(TokenCache):
    """A :class:`TokenCache` backed by the database (shared by all processes of an instance)."""

    def __init__(self, context: Context) -> None:
        super().__init__()
        self.context = context

    def get(self, key: tuple[str, ...], now: float) -> str | None:
        token = super().get(key, now)
        if token is not None:
            return token
        try:
            with self.context.db.connect() as conn:
                row = conn.execute(
                    select(t.oauth_tokens.c.token, t.oauth_tokens.c.expires_at).where(
                        t.oauth_tokens.c.key == _digest(key), t.oauth_tokens.c.expires_at > now
                    )
                ).first()
            if row is None:
                return None
            token = self.context.secrets.decrypt(row.token)
        except (SQLAlchemyError, ValueError):
            log.warning("the stored OAuth2 token could not be read; fetching a new one", exc_info=True)
            return None
        super().put(key, token, row.expires_at)
        return token

    def put(self, key: tuple[str, ...], token: str, expires_at: float) -> None:
        super().put(key, token, expires_at)
        client = _digest(key[:3])
        try:
            with self.context.db.begin() as conn:
                # one token per client: this also removes the token of a rotated secret
                conn.execute(delete(t.oauth_tokens).where(t.oauth_tokens.c.client == client))
                conn.execute(
                    insert(t.oauth_tokens).values(
                        key=_digest(key),
                        client=client,
                        token=self.context.secrets.encrypt(token),
                        expires_at=expires_at,
                        created=now_iso(),
                    )
                )
        except IntegrityError:
            pass  # another process stored a token for this client at the same moment
        except SQLAlchemyError:
            log.warning("the OAuth2 token could not be stored; kept in memory only", exc_info=True)

    def drop(self, key: tuple[str, ...]) -> None:
        super().drop(key)
        try:
            with self.context.db.begin() as conn:
                conn.execute(delete(t.oauth_tokens).where(t.oauth_tokens.c.key == _digest(key)))
        except SQLAlchemyError:
            log.warning("the rejected OAuth2 token could not be removed", exc_info=True)


def token_cache(context: Context) -> StoredTokenCache:
    """The instance's token cache for this process (one memory layer per context)."""
    cache = _CACHES.get(context)
    if cache is None:
        cache = _CACHES.setdefault(context, StoredTokenCache(context))
    return cache


def forget_tokens(context: Context, settings: dict[str, Any] | None = None) -> int:
    """Remove stored tokens (all, or those of one client's ``tokenUrl``/``clientId``/``scope``)."""
    statement = delete(t.oauth_tokens)
    if settings is not None:
        parts = (str(settings["tokenUrl"]), str(settings["clientId"]), str(settings.get("scope") or ""))
        statement = statement.where(t.oauth_tokens.c.client == _digest(parts))
    with context.db.begin() as conn:
        return conn.execute(statement).rowcount
