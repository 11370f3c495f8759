"""The template syntax tree produced by the parser and consumed by the compiler.

Every node records its source line (for Twig-style error messages) and, for
expressions, its nesting depth: the parser refuses trees deeper than the
environment allows, so neither it nor Python's ``compile()`` can hit a
``RecursionError`` on hostile input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False, slots=True)
class Node:
    lineno: int


@dataclass(eq=False, slots=True)
class Expr(Node):
    depth: int = field(default=1, kw_only=True)


@dataclass(eq=False, slots=True)
class Const(Expr):
    value: Any


@dataclass(eq=False, slots=True)
class Name(Expr):
    name: str


@dataclass(eq=False, slots=True)
class ArrayLit(Expr):
    """``[a, ...b]``: elements are (value, is_spread)."""

    elements: list[tuple[Expr, bool]]


@dataclass(eq=False, slots=True)
class HashLit(Expr):
    """``{k: v, ...h}``: pairs are (key or None for a spread, value)."""

    pairs: list[tuple[Expr | None, Expr]]


@dataclass(eq=False, slots=True)
class GetAttr(Expr):
    """``a.b``, ``a[b]``, ``a.(b)``, ``a.b(args)``; kind is ``any``, ``array`` or ``method``."""

    node: Expr
    attr: Expr
    args: list[Arg] | None
    kind: str


@dataclass(eq=False, slots=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(eq=False, slots=True)
class Unary(Expr):
    op: str
    node: Expr


@dataclass(eq=False, slots=True)
class Cond(Expr):
    test: Expr
    then: Expr
    otherwise: Expr


@dataclass(eq=False, slots=True)
class Arg:
    """A call argument: ``name`` is set for named arguments, ``spread`` for ``...x``."""

    name: str | None
    value: Expr
    spread: bool = False


@dataclass(eq=False, slots=True)
class Filter(Expr):
    node: Expr
    name: str
    args: list[Arg]


@dataclass(eq=False, slots=True)
class Func(Expr):
    name: str
    args: list[Arg]


@dataclass(eq=False, slots=True)
class Test(Expr):
    node: Expr
    name: str
    args: list[Arg]


@dataclass(eq=False, slots=True)
class ArrowFn(Expr):
    params: list[str]
    body: Expr


# ------------------------------------------------------------------ statements


@dataclass(eq=False, slots=True)
class Text(Node):
    text: str


@dataclass(eq=False, slots=True)
class Print(Node):
    expr: Expr


@dataclass(eq=False, slots=True)
class If(Node):
    branches: list[tuple[Expr, list[Node]]]
    otherwise: list[Node] | None


@dataclass(eq=False, slots=True)
class For(Node):
    key: str | None
    value: str
    seq: Expr
    body: list[Node]
    otherwise: list[Node] | None


@dataclass(eq=False, slots=True)
class Set(Node):
    names: list[str]
    values: list[Expr]


@dataclass(eq=False, slots=True)
class SetCapture(Node):
    name: str
    body: list[Node]


@dataclass(eq=False, slots=True)
class With(Node):
    expr: Expr | None
    only: bool
    body: list[Node]


@dataclass(eq=False, slots=True)
class Do(Node):
    expr: Expr


@dataclass(eq=False, slots=True)
class Apply(Node):
    """``{% apply upper|trim %}...{% endapply %}``: filters applied to the captured body."""

    filters: list[tuple[str, list[Arg], int]]
    body: list[Node]
