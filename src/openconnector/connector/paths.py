"""Dot paths into JSON-like data, with the semantics of OpenConnector's mappings.

A mapping addresses data with dot paths: ``category.name``, ``tags.0``. The
original (PHP, adbario/php-dot-notation over PHP arrays) gives them rules that
production mappings rely on, so this module reproduces them:

* a segment indexes a list only when it is a canonical non-negative integer
  (``"0"``, ``"12"``; not ``"01"`` or ``"-1"``), because PHP turns exactly those
  array keys into integers;
* a key holding ``None`` exists (``get`` returns ``None``, not :data:`MISSING`);
* ``&#46;`` in a segment stands for a literal dot. The original protects input
  keys that contain dots by encoding them as ``&#46;``, so a path can address
  ``{"a.b": 1}`` as ``a&#46;b`` and never as ``a.b``;
* setting a path turns missing or non-container intermediates into objects;
* deleting a list element leaves a hole (:data:`HOLE`) so that the indexes of the
  other elements stay valid for the next deletion, as PHP's ``unset`` does;
  :func:`compact` removes the holes once a phase is done.

Paths are split once (:func:`split`) and the tuples reused, so per-record work
is a few dict lookups.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["HOLE", "MISSING", "clone", "compact", "delete", "get", "index", "set_value", "split"]


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


MISSING: Final[Any] = _Sentinel("MISSING")
"""Returned by :func:`get` when a path does not exist (``None`` is a value)."""

HOLE: Final[Any] = _Sentinel("HOLE")
"""Stands in for a deleted list element until :func:`compact` runs."""

_DOT_ENTITY: Final = "&#46;"


def split(path: str) -> tuple[str, ...]:
    """Split a dot path into segments, decoding ``&#46;`` to a literal dot."""
    if _DOT_ENTITY in path:
        return tuple(segment.replace(_DOT_ENTITY, ".") for segment in path.split("."))
    return tuple(path.split("."))


def index(segment: str) -> int | None:
    """The list index a segment stands for, or ``None`` when it is not one."""
    if segment.isascii() and segment.isdigit() and (segment == "0" or segment[0] != "0"):
        return int(segment)
    return None


def get(data: Any, segments: tuple[str, ...]) -> Any:
    """The value at ``segments`` in ``data``, or :data:`MISSING`."""
    for segment in segments:
        kind = type(data)
        if kind is dict:
            data = data.get(segment, MISSING)
            if data is MISSING:
                return MISSING
        elif kind is list:
            position = index(segment)
            if position is None or position >= len(data):
                return MISSING
            data = data[position]
            if data is HOLE:
                return MISSING
        else:
            return MISSING
    return data


def set_value(root: Any, segments: tuple[str, ...], value: Any) -> Any:
    """Set ``value`` at ``segments`` and return the (possibly replaced) root.

    The root is replaced only when it is not a dict and the first segment cannot
    index it; callers keep the returned object.
    """
    root = _settable(root, segments[0])
    container = root
    last = len(segments) - 1
    for depth, segment in enumerate(segments):
        if depth == last:
            _put(container, segment, value)
            return root
        child = _child(container, segment)
        if type(child) is not dict and type(child) is not list:
            child = {}
        child = _settable(child, segments[depth + 1])
        _put(container, segment, child)
        container = child
    return root


def delete(root: Any, segments: tuple[str, ...]) -> bool:
    """Delete the value at ``segments``; return whether something was deleted."""
    parent = get(root, segments[:-1]) if len(segments) > 1 else root
    segment = segments[-1]
    if type(parent) is dict:
        if segment in parent:
            del parent[segment]
            return True
        return False
    if type(parent) is list:
        position = index(segment)
        if position is not None and position < len(parent) and parent[position] is not HOLE:
            parent[position] = HOLE
            return True
    return False


def compact(data: Any) -> Any:
    """Remove :data:`HOLE` markers from all lists in ``data`` (in place) and return it."""
    kind = type(data)
    if kind is dict:
        for value in data.values():
            if type(value) is dict or type(value) is list:
                compact(value)
    elif kind is list:
        if HOLE in data:
            data[:] = [value for value in data if value is not HOLE]
        for value in data:
            if type(value) is dict or type(value) is list:
                compact(value)
    return data


def clone(value: Any) -> Any:
    """Deep copy of JSON-like data (much faster than :func:`copy.deepcopy`).

    Mapped output never shares containers with the input or with the mapping,
    like PHP's value arrays: a caller may mutate a result without touching the
    record it came from or the literal in the mapping.
    """
    kind = type(value)
    if kind is dict:
        return {key: clone(item) if type(item) in _CONTAINERS else item for key, item in value.items()}
    if kind is list:
        return [clone(item) if type(item) in _CONTAINERS else item for item in value]
    return value


_CONTAINERS: Final = frozenset((dict, list))


def _child(container: dict[str, Any] | list[Any], segment: str) -> Any:
    if type(container) is dict:
        return container.get(segment)
    position = index(segment)
    if position is not None and position < len(container):
        return container[position]
    return None


def _settable(container: Any, segment: str) -> Any:
    """Make ``container`` able to take ``segment``: a list that cannot becomes a dict.

    PHP arrays are ordered maps, so ``tags.name = x`` on a list, or an index past
    its end, gives an object with keys ``"0"``, ``"1"``, ..., ``"name"``.
    """
    if type(container) is dict:
        return container
    if type(container) is list:
        position = index(segment)
        if position is not None and position <= len(container):
            return container
        return {str(i): item for i, item in enumerate(container) if item is not HOLE}
    return {}


def _put(container: dict[str, Any] | list[Any], segment: str, value: Any) -> None:
    if type(container) is dict:
        container[segment] = value
        return
    position = index(segment)
    assert position is not None  # guaranteed by _settable
    if position == len(container):
        container.append(value)
    else:
        container[position] = value
