"""Checks made when a source or mapping is saved, so a mistake is a 400 at save time
rather than a failed run later.

A source must say where it is (an http(s) ``location``) and be of a type the
connector can call; a mapping's Twig templates must parse. ``EntityService``
runs these on every create and update (REST, UI, CLI).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..errors import BadRequest
from ..twig.errors import Error as TwigError

#: Source types that work: HTTP APIs (JSON, XML), SOAP, files (CSV, JSON Lines, Excel)
#: and DCAT feeds (``connector/readers.py``). The original also lists database and file;
#: those would save and then fail on the first run, so they are refused.
SOURCE_TYPES = ("api", "json", "xml", "soap", "csv", "jsonl", "xlsx", "dcat")
#: File sources may point at an uploaded file (``upload:<name>``) instead of a URL.
FILE_TYPES = ("csv", "jsonl", "xlsx")


def check_source(data: dict[str, Any], *, creating: bool, draft: bool = False) -> dict[str, Any]:
    """``data`` with defaults filled in; BadRequest naming the field when it cannot work.

    ``draft`` is the UI's first step (name and type; the location is set on the next
    page, as the tutorial does it): a missing location is allowed there, not a wrong one.
    """
    out = dict(data)
    if creating:
        out.setdefault("type", "api")
    if "type" in out and out["type"] not in SOURCE_TYPES:
        raise BadRequest(
            f"Source type {out['type']!r} is not supported; use one of {', '.join(SOURCE_TYPES)}",
            property="type",
            supported=list(SOURCE_TYPES),
        )
    if (creating and not draft) or "location" in out:
        location = out.get("location")
        if draft and location in (None, ""):
            return out
        if not isinstance(location, str) or not location.strip():
            raise BadRequest(
                "A source needs a location: the base URL of the API, e.g. https://api.example.org",
                property="location",
            )
        if location.startswith("upload:") and (out.get("type") in FILE_TYPES or not creating):
            return out  # an uploaded file (SourceService.upload); its type is checked when read
        parts = urlsplit(location.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadRequest(
                f"The location must be a full http:// or https:// address; {location!r} is not one",
                property="location",
            )
    return out


def check_mapping(data: dict[str, Any]) -> None:
    """Every rule that is a Twig template must parse; BadRequest names the key and the error."""
    from ..twig.variables import parse_template

    rules = data.get("mapping")
    if rules is None:
        return
    if not isinstance(rules, dict):
        raise BadRequest(
            'mapping must be an object of rules, e.g. {"title": "{{ name }}"}', property="mapping"
        )
    for key, value in rules.items():
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value and "{#" not in value):
            continue
        try:
            parse_template(value, name=str(key))
        except TwigError as exc:
            raise BadRequest(
                f"Twig syntax error in mapping key {key!r}: {exc}",
                property=f"mapping.{key}",
                key=str(key),
                twigMessage=str(exc),
            ) from None
