"""The running instance: settings, database and the services built on them.

The Python API mirrors the tutorial's PHP tab, where ``\\OCP\\Server::get(ObjectService::class)``
hands out a service wired to the running Nextcloud. Here ``ObjectService()`` with no
arguments uses the default context, built once from the ``OPENCONNECTOR_*``
environment and migrated on first use; tests and the server pass their own.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from .store.db import Database
from .store.settings import Settings

if TYPE_CHECKING:
    from .files.storage import Storage
    from .store.secrets import Secrets


class Context:
    """One openconnector instance: its settings and its (migrated) database."""

    def __init__(self, settings: Settings | None = None, *, migrate: bool = True) -> None:
        self.settings = settings or Settings.from_env()
        self.db = Database(self.settings)
        if migrate:
            self.db.upgrade()

    @cached_property
    def secrets(self) -> Secrets:
        from .store.secrets import Secrets

        return Secrets.for_settings(self.settings)

    @cached_property
    def storage(self) -> Storage:
        """Where files on objects keep their bytes (``OPENCONNECTOR_FILES_URL``)."""
        from .files.storage import open_storage

        return open_storage(self.settings)

    def close(self) -> None:
        self.db.dispose()


_default: Context | None = None
_lock = threading.Lock()


def get_context() -> Context:
    """The default context, created from the environment on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = Context()
        return _default


def configured_timezone() -> str:
    """The instance's timezone: the default context's, else ``OPENCONNECTOR_TIMEZONE``.

    For code that may run without a database (the bare ``MappingService``), so Twig's
    ``"now"`` renders in the same zone in Python as in the service, the UI and the CLI.
    """
    current = _default
    return current.settings.timezone if current is not None else Settings.from_env().timezone


def set_context(context: Context | None) -> None:
    """Make ``context`` the default (the server does this at start; tests per test)."""
    global _default
    with _lock:
        _default = context
