"""Twig's tests (``is even``, ``is same as(...)``, ...); ``defined`` is compiled inline."""

from __future__ import annotations

from typing import Any

from . import runtime as rt


def t_divisible_by(value: Any, num: Any) -> bool:
    return rt.loose_eq(0, rt.mod(value, num))


def t_even(value: Any) -> bool:
    return rt.to_int(value) % 2 == 0


def t_odd(value: Any) -> bool:
    return rt.to_int(value) % 2 == 1


def t_empty(value: Any) -> bool:
    return rt.empty(value)


def t_iterable(value: Any) -> bool:
    return rt.is_array(value)


def t_mapping(value: Any) -> bool:
    return rt.is_array(value) and not rt.is_list(value)


def t_sequence(value: Any) -> bool:
    return rt.is_list(value)


def t_null(value: Any) -> bool:
    return value is None or value is rt.UNDEFINED


def t_same_as(value: Any, compare: Any) -> bool:
    return rt.same(value, compare)


def t_defined(value: Any) -> bool:  # pragma: no cover - compiled inline
    return value is not rt.UNDEFINED


TESTS: dict[str, Any] = {
    "defined": t_defined,
    "divisible by": t_divisible_by,
    "empty": t_empty,
    "even": t_even,
    "iterable": t_iterable,
    "mapping": t_mapping,
    "null": t_null,
    "none": t_null,
    "odd": t_odd,
    "same as": t_same_as,
    "sequence": t_sequence,
}
