"""What a template reads from its context: ``{{ category.name }}`` reads ``category.name``.

The mapping test uses it to warn about a rule that reads a field the sample record
does not have (``{{ nmae }}`` renders as an empty string without a word otherwise).
Names the template binds itself (``set``, ``for``, arrow-function parameters,
``loop``) are not context reads.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from . import nodes as n
from .lexer import tokenize
from .parser import parse

_SPECIAL = frozenset({"loop", "_self", "_context", "_charset"})


def parse_template(source: str, name: str = "template", max_depth: int = 50) -> list[n.Node]:
    """The syntax tree of ``source``; raises the Twig ``SyntaxError`` a render would."""
    from .environment import Environment

    env = _ENV.get("env")
    if env is None:
        env = _ENV["env"] = Environment(strict_variables=False)
    return parse(tokenize(source, name), name, env._test_arity, max_depth)


_ENV: dict[str, Any] = {}


def read_paths(source: str) -> list[str]:
    """The context paths ``source`` reads, in order of first use (``["name", "category.name"]``)."""
    body = parse_template(source)
    bound: set[str] = set()
    found: list[str] = []
    _bindings(body, bound)
    _walk(body, bound, found)
    return found


def _path(expr: Any) -> str | None:
    """``a.b.0`` for a chain of plain attribute/index reads on a name, else None."""
    if isinstance(expr, n.Name):
        return expr.name
    if (
        isinstance(expr, n.GetAttr)
        and expr.args is None
        and isinstance(expr.attr, n.Const)
        and isinstance(expr.attr.value, str | int)
        and not isinstance(expr.attr.value, bool)
    ):
        inner = _path(expr.node)
        return f"{inner}.{expr.attr.value}" if inner is not None else None
    return None


def _walk(value: Any, bound: set[str], found: list[str]) -> None:
    if isinstance(value, list | tuple):
        for item in value:
            _walk(item, bound, found)
        return
    if isinstance(value, n.Name | n.GetAttr):
        path = _path(value)
        if path is not None:
            root = path.split(".", 1)[0]
            if root not in bound and root not in _SPECIAL and path not in found:
                found.append(path)
            return
    if is_dataclass(value) and not isinstance(value, type):
        for field in fields(value):
            _walk(getattr(value, field.name), bound, found)


def _bindings(value: Any, bound: set[str]) -> None:
    """Every name the template assigns anywhere (a conservative over-approximation)."""
    if isinstance(value, list | tuple):
        for item in value:
            _bindings(item, bound)
        return
    if isinstance(value, n.Set):
        bound.update(value.names)
    elif isinstance(value, n.SetCapture):
        bound.add(value.name)
    elif isinstance(value, n.For):
        bound.add(value.value)
        if value.key:
            bound.add(value.key)
    elif isinstance(value, n.ArrowFn):
        bound.update(value.params)
    if is_dataclass(value) and not isinstance(value, type):
        for field in fields(value):
            _bindings(getattr(value, field.name), bound)
