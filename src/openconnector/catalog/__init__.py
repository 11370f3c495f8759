"""The public catalog: DCAT-AP-NL feed and EU data themes.

Names are imported on first use so that importing ``openconnector.catalog``
does not load rdflib (about 0.3 s) for callers that only need themes.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["UnsupportedFormat", "build_graph", "negotiate", "resolve_theme", "serialize"]

_HOMES = {
    "UnsupportedFormat": "openconnector.catalog.dcat",
    "build_graph": "openconnector.catalog.dcat",
    "negotiate": "openconnector.catalog.dcat",
    "resolve_theme": "openconnector.catalog.themes",
    "serialize": "openconnector.catalog.dcat",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
