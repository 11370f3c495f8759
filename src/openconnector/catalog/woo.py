"""The Woo starting point: a DCAT register, its Dataset schema and the ``publications`` catalog.

Parts 1 to 3 of the Woo tutorial build these by hand; ``openconnector init woo``
(or :func:`install_woo`) builds them in one go, so Part 4 (the synchronisation)
can start right away::

    openconnector init woo
    # register "dcat" (DCAT register), schema "dataset", catalog "publications" (hasDcat)

It is idempotent: what exists is left alone (an admin's edits survive) and only
what is missing is added, so a second run changes nothing.

The schema accepts exactly what the tutorial's mapping writes: ``category`` and
``status`` are free text ("Dogs", "Published"), ``publicatiedatum`` is the naive
local ``"now"|date("Y-m-d H:i:s")`` (normalised to UTC on save). DCAT-AP-NL
wants an EU data theme instead of "Dogs"; that lives in ``theme``, which the
public API and the feed fill from the catalog's ``themeMapping`` (category →
theme code) and ``defaultTheme`` when the object has none.
"""

from __future__ import annotations

from typing import Any

from ..context import Context, get_context
from ..errors import NotFound
from ..register.registers import RegisterService
from .service import DEFAULT_SLUG, CatalogService
from .themes import THEMES

__all__ = [
    "DATASET_SCHEMA",
    "DEFAULT_THEME",
    "DEFAULT_THEME_MAPPING",
    "WOO_CATALOG",
    "WOO_REGISTER",
    "install_woo",
]

CC0 = "http://creativecommons.org/publicdomain/zero/1.0/deed.nl"

WOO_REGISTER: dict[str, Any] = {
    "title": "DCAT register",
    "slug": "dcat",
    "description": "Datasets published under the Woo (Wet open overheid), described for DCAT-AP-NL 3.0.",
}

_URI = {"type": "string", "format": "uri"}

DATASET_SCHEMA: dict[str, Any] = {
    "title": "Dataset",
    "slug": "dataset",
    "description": "A dataset as DCAT-AP-NL describes it; public from its publicatiedatum on.",
    "version": "0.1.0",
    "required": ["title"],
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": {"type": "string"},
        "category": {
            "type": "string",
            "facetable": True,
            "description": 'Free text from the source ("Dogs"); mapped to theme by the catalog',
        },
        "theme": {
            "type": "string",
            "enum": sorted(THEMES),
            "facetable": True,
            "description": "EU data-theme code (dcat:theme); filled from category when empty",
        },
        "status": {"type": "string", "facetable": True, "description": 'Free text ("Published")'},
        "publicatiedatum": {
            "type": "string",
            "format": "date-time",
            "facetable": True,
            "description": "Public from this moment on; empty = not public",
        },
        "keywords": {"type": "array", "items": {"type": "string"}, "facetable": True},
        "publisher": {"type": "string", "description": "Organisation name or TOOI URI"},
        "contactEmail": {"type": "string", "format": "email"},
        "license": {**_URI, "default": CC0},
        "accessRights": {
            "type": "string",
            "enum": ["PUBLIC", "RESTRICTED", "NON_PUBLIC"],
            "default": "PUBLIC",
        },
        "language": {"type": "string", "default": "NLD"},
        "landingPage": _URI,
        "distributions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["accessURL"],
                "properties": {
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "accessURL": _URI,
                    "downloadURL": _URI,
                    "mediaType": {"type": "string"},
                    "format": {"type": "string"},
                    "byteSize": {"type": "integer", "minimum": 0},
                    "license": _URI,
                },
            },
        },
    },
    "configuration": {"objectNameField": "title", "objectDescriptionField": "description"},
    # OpenRegister 1.0's form of the rule; openconnector enforces it in CatalogService.visible
    "authorization": {
        "read": [{"group": "public", "match": {"publicatiedatum": {"$lte": "$now"}}}, "authenticated"]
    },
}

#: The Pet Store's categories are animals: EU theme AGRI ("Landbouw, visserij,
#: bosbouw en voeding"), which covers animal keeping and veterinary matters.
DEFAULT_THEME_MAPPING: dict[str, str] = {
    "Dogs": "AGRI",
    "Cats": "AGRI",
    "Birds": "AGRI",
    "Rabbits": "AGRI",
    "Fish": "AGRI",
}
#: Anything else a municipality publishes under the Woo is government business.
DEFAULT_THEME = "GOVE"

WOO_CATALOG: dict[str, Any] = {
    "title": "Publicaties",
    "slug": DEFAULT_SLUG,
    "description": "Openbare publicaties en datasets (Woo), ook als DCAT-AP-NL 3.0 feed.",
    "listed": True,
    "hasDcat": True,
    "language": "NLD",
    "license": CC0,
    "defaultTheme": DEFAULT_THEME,
    "themeMapping": DEFAULT_THEME_MAPPING,
}


def install_woo(context: Context | None = None) -> dict[str, str]:
    """Create what is missing of the Woo starting point; report each part as created/updated/exists."""
    context = context or get_context()
    registers = RegisterService(context)
    report: dict[str, str] = {}

    try:
        register = registers.get_register(WOO_REGISTER["slug"])
        report["register"] = "exists"
    except NotFound:
        register = registers.create_register(dict(WOO_REGISTER))
        report["register"] = "created"

    schema = next(
        (s for s in registers.list_schemas(register["id"]) if s["slug"] == DATASET_SCHEMA["slug"]), None
    )
    if schema is None:
        schema = registers.create_schema(dict(DATASET_SCHEMA), register=register["id"])
        report["schema"] = "created"
    else:
        report["schema"] = "exists"

    catalogs = CatalogService(context)
    current = catalogs.get(DEFAULT_SLUG)
    if current.get("id") is None:
        catalogs.create({**WOO_CATALOG, "registers": [register["id"]], "schemas": [schema["id"]]})
        report["catalog"] = "created"
    else:
        patch: dict[str, Any] = {}
        if register["id"] not in (current.get("registers") or []):
            patch["registers"] = [*(current.get("registers") or []), register["id"]]
        if schema["id"] not in (current.get("schemas") or []):
            patch["schemas"] = [*(current.get("schemas") or []), schema["id"]]
        for key in ("hasDcat", "defaultTheme", "themeMapping", "license", "language"):
            if key not in current:
                patch[key] = WOO_CATALOG[key]
        if patch:
            catalogs.update(DEFAULT_SLUG, patch, merge=True)
            report["catalog"] = "updated"
        else:
            report["catalog"] = "exists"
    return report
