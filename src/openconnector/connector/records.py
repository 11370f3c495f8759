"""Finding the list of records in a decoded API response.

A synchronisation's ``resultsPosition`` says where the records are. APIs put
them in many places::

    [{"id": 1}, {"id": 2}]                           resultsPosition "_root" (or auto)
    {"results": [{"id": 1}], "next": "..."}          "results" (or auto)
    {"data": {"items": [{"id": 1}]}}                  "data.items"
    {"_embedded": {"pets": [{"id": 1}]}}              auto: first list in "_embedded"
    {"hydra:member": [{"id": 1}]}                     auto
    {"value": [{"id": 1}], "@odata.nextLink": "..."}  auto (OData)
    {"id": 1, "name": "Bella"}                        "_object": one record

``find_records`` returns the records and a short description of where they
were found, so a synchronisation log can say "42 records at data.items".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from openconnector.errors import SourceRejected

__all__ = [
    "AUTO_KEYS",
    "MISSING",
    "RecordsNotFound",
    "Unreadable",
    "content_hash",
    "find_records",
    "get_path",
]

#: Keys tried in order when no results position is configured. The original
#: tries ``items``, ``result``, ``results``; we add the common envelopes.
AUTO_KEYS = ("results", "items", "data", "result", "_embedded", "hydra:member", "value")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Returned by ``get_path`` when the path does not exist (``None`` is a value).
MISSING: Any = _Missing()


class RecordsNotFound(SourceRejected):
    """The response has no list of records where we looked."""


def get_path(obj: Any, dotted: str | None, default: Any = MISSING) -> Any:
    """Follow a dot path through dicts and lists; numeric segments index lists.

    ``get_path({"data": {"items": [{"id": 7}]}}, "data.items.0.id") == 7``.
    A key that itself contains dots is found too (``{"a.b": 1}`` with
    ``"a.b"``), because flattened keys are common in API output. Returns
    ``default`` (``MISSING`` unless given) when the path does not exist.
    """
    if dotted and type(obj) is dict and dotted in obj:  # the common case, without the ABC check below
        return obj[dotted]
    if dotted is None or dotted == "":
        return obj
    if isinstance(obj, Mapping) and dotted in obj:
        return obj[dotted]
    head, dot, rest = dotted.partition(".")
    current: Any
    if isinstance(obj, Mapping):
        if head not in obj:
            return default
        current = obj[head]
    elif isinstance(obj, list) and _is_index(head):
        index = int(head)
        if not -len(obj) <= index < len(obj):
            return default
        current = obj[index]
    else:
        return default
    return get_path(current, rest, default) if dot else current


def _is_index(segment: str) -> bool:
    return segment.isdigit() or (segment.startswith("-") and segment[1:].isdigit())


def _describe(body: Any) -> str:
    if isinstance(body, Mapping):
        keys = ",".join(f'"{k}"' for k in list(body)[:20])
        more = ", ..." if len(body) > 20 else ""
        return f"an object with keys [{keys}{more}]"
    if isinstance(body, list):
        return f"a list of {len(body)} items"
    if body is None or body == "":
        return "empty"
    return f"a {type(body).__name__} value"


def _as_list(value: Any) -> list[Any]:
    """A found value as a list of records: null is no records, a lone object is one."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def find_records(body: Any, results_position: str | None = None) -> tuple[list[Any], str]:
    """Return ``(records, where)`` for a decoded response body.

    ``results_position``:

    * ``"_root"``: the body is the list;
    * ``"_object"``: the body is one record (returned as a one-item list);
    * a dot path such as ``"data.items"`` (numeric segments index lists); a
      non-list value found there is wrapped, ``null`` means no records;
    * ``None`` or ``""``: auto-detect, see ``AUTO_KEYS``; a bare list is the root.

    Raises ``RecordsNotFound`` saying where it looked and what the body was.
    """
    if results_position == "_root":
        if isinstance(body, list):
            return body, "_root"
        raise RecordsNotFound(
            f'No records at resultsPosition "_root": the response is {_describe(body)}, not a list',
            resultsPosition=results_position,
        )
    if results_position == "_object":
        if isinstance(body, Mapping):
            return [body], "_object"
        raise RecordsNotFound(
            f'No record at resultsPosition "_object": the response is {_describe(body)}, not an object',
            resultsPosition=results_position,
        )
    if results_position:
        found = get_path(body, results_position)
        if found is MISSING:
            raise RecordsNotFound(
                f'No records at resultsPosition "{results_position}": the response is {_describe(body)}',
                resultsPosition=results_position,
            )
        return _as_list(found), results_position
    return _auto(body)


def _auto(body: Any) -> tuple[list[Any], str]:
    if isinstance(body, list):
        return body, "_root"
    if isinstance(body, Mapping):
        for key in AUTO_KEYS:
            if key not in body:
                continue
            value = body[key]
            if key == "_embedded" and isinstance(value, Mapping):
                # HAL: {"_embedded": {"pets": [...]}} – the first list inside.
                for name, inner in value.items():
                    if isinstance(inner, list):
                        return inner, f"_embedded.{name}"
                continue
            if key == "data" and isinstance(value, Mapping):
                # {"data": {"items": [...]}} or JSON:API's single {"data": {...}}
                inner_records = _nested_auto(value)
                if inner_records is not None:
                    return inner_records[0], f"data.{inner_records[1]}"
            if value is None or isinstance(value, list):
                return _as_list(value), key
    raise RecordsNotFound(
        "Cannot determine the position of objects in the return body: no resultsPosition is set and "
        f"none of {', '.join(AUTO_KEYS)} holds a list; the response is {_describe(body)}. "
        'Set resultsPosition to the dot path of the list, "_root" or "_object".',
        resultsPosition=None,
    )


def _nested_auto(value: Mapping[str, Any]) -> tuple[list[Any], str] | None:
    for key in AUTO_KEYS:
        inner = value.get(key)
        if isinstance(inner, list):
            return inner, key
    return None


class Unreadable(str):
    """A record a source could not decode (a JSON Lines line that is not JSON), as its reason.

    It stays in its page so the run counts it ``invalid`` with this reason and goes on
    with the next line, instead of one bad line ending the run. Being a ``str``, it
    hashes and logs like any other value.
    """


def content_hash(value: Any) -> str:
    """A hash of JSON data that ignores key order: a record's, a page's records', a mapping's."""
    return hashlib.blake2b(
        orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS), digest_size=16
    ).hexdigest()
