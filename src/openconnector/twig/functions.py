"""Twig's core functions plus OpenConnector's ``generateUuid()``.

``attribute()`` goes through the same sandboxed lookup as ``a.b`` (dict keys
and list indexes only), and ``range()`` is bounded like the ``..`` operator.
"""

from __future__ import annotations

import functools
import random as _random
import uuid
from typing import Any

from . import runtime as rt
from .dates import TwigDate, convert
from .errors import LoaderError
from .errors import RuntimeError as TwigRuntimeError
from .runtime import State

_rng = _random.SystemRandom()


def fn_attribute(st: State, object: Any, attribute: Any, arguments: Any = None) -> Any:  # noqa: A002
    args = tuple(rt.values(arguments)) if arguments is not None else None
    method = arguments is not None
    if st.env.strict_variables:
        return rt.get_attr_strict(object, attribute, args, method)
    return rt.get_attr_lenient(object, attribute, args, method)


def fn_cycle(st: State, values: Any, position: Any) -> Any:
    if not rt.is_array(values) or not len(values):
        raise TwigRuntimeError('The "cycle" function expects a non-empty sequence.')
    vals = rt.values(values)
    return vals[rt.to_int(position) % len(vals)]


def fn_date(st: State, date: Any = None, timezone: Any = None) -> TwigDate:
    return convert(date, timezone, st.env.timezone)


def _flatten(value: Any, values: tuple[Any, ...]) -> list[Any]:
    if not values:
        if rt.is_array(value):
            vals = rt.values(value)
            if not vals:
                raise TwigRuntimeError("max(): Argument #1 ($value) must contain at least one element.")
            return vals
        raise TwigRuntimeError("max(): Argument #1 ($value) must be of type array.")
    return [value, *values]


def fn_max(st: State, value: Any, *values: Any) -> Any:
    vals = _flatten(value, values)
    best = vals[0]
    for v in vals[1:]:
        if rt.compare(v, best) > 0:
            best = v
    return best


def fn_min(st: State, value: Any, *values: Any) -> Any:
    vals = _flatten(value, values)
    best = vals[0]
    for v in vals[1:]:
        if rt.compare(v, best) < 0:
            best = v
    return best


def fn_random(st: State, values: Any = None, max: Any = None) -> Any:  # noqa: A002
    if values is None:
        return _rng.randint(0, 2**31 - 1) if max is None else _rng.randint(0, rt.to_int(max))
    if isinstance(values, int) and not isinstance(values, bool) or isinstance(values, float):
        lo, hi = (0, rt.to_int(values)) if max is None else (rt.to_int(values), rt.to_int(max))
        if lo > hi:
            lo, hi = hi, lo
        return _rng.randint(lo, hi)
    if isinstance(values, str):
        return _rng.choice(values) if values else ""
    vals = rt.values(values)
    if not vals:
        raise TwigRuntimeError("The random function cannot pick from an empty sequence or mapping.")
    return _rng.choice(vals)


def fn_range(st: State, low: Any, high: Any, step: Any = 1) -> list[Any]:
    return rt.make_range(st, low, high, step)


def fn_generate_uuid(st: State) -> str:
    return str(uuid.uuid4())


def fn_include(
    st: State,
    template: Any,
    variables: Any = None,
    with_context: bool = True,
    ignore_missing: bool = False,
    sandboxed: bool = False,
) -> str:
    """Template loading is not available to mappings; Twig reports a missing template."""
    if ignore_missing:
        return ""
    raise LoaderError(f'Template "{rt.to_str(template)}" is not defined.')


FUNCTIONS: dict[str, Any] = {
    "attribute": fn_attribute,
    "cycle": fn_cycle,
    "date": fn_date,
    "max": fn_max,
    "min": fn_min,
    "random": fn_random,
    "range": fn_range,
    "generateUuid": fn_generate_uuid,
    "include": fn_include,
    "source": functools.partial(fn_include),
}
