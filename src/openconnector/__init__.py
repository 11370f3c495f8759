"""openconnector: pull data out of external APIs into registers, keep them current
on a schedule, and publish them to the public.

The services are the Python twins of the tutorial's PHP tab::

    from openconnector import ObjectService, SynchronizationService

    sync = ObjectService().save_object(object={...}, register="openconnector", schema="synchronization")
    log = SynchronizationService().synchronize(sync)

Names are imported lazily so that ``import openconnector`` stays cheap for the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "CallService",
    "EndpointService",
    "FileService",
    "MappingService",
    "ObjectService",
    "OpenConnectorError",
    "Settings",
    "SynchronizationService",
]

_WHERE = {
    "CallService": "openconnector.connector.call",
    "EndpointService": "openconnector.connector.endpoints",
    "FileService": "openconnector.files.service",
    "MappingService": "openconnector.connector.mapping",
    "ObjectService": "openconnector.register.objects",
    "OpenConnectorError": "openconnector.errors",
    "Settings": "openconnector.store.settings",
    "SynchronizationService": "openconnector.connector.sync",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'openconnector' has no attribute {name!r}")
