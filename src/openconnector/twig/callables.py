"""Descriptions of filters, functions and tests, and Twig-style argument binding.

Twig binds named arguments at compile time and reports mistakes as syntax
errors (``Argument "date" is defined twice for function "date"``). We read
each Python callable's signature once, expose its parameters under their
Twig names (``preserve_keys`` also answers to ``preserveKeys``; a trailing
``_`` as in ``from_`` is dropped) and check calls the same way.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import SyntaxError as TwigSyntaxError


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


@dataclass
class TwigCallable:
    """A filter, function or test as the compiler sees it."""

    name: str
    fn: Callable[..., Any]
    kind: str  # "filter", "function" or "test"
    needs_state: bool = False  # builtin: first parameter receives the render State
    is_safe: bool = False  # output is already HTML-safe
    pre_escape: bool = False  # input is HTML-escaped before the call (nl2br)
    params: list[tuple[str, str, bool]] = field(default_factory=list)  # (twig name, python name, required)
    varargs: bool = False
    varkw: bool = False

    def __post_init__(self) -> None:
        try:
            sig = inspect.signature(self.fn)
        except (TypeError, ValueError):
            self.varargs = True
            return
        ps = list(sig.parameters.values())
        skip = (1 if self.needs_state else 0) + (1 if self.kind in ("filter", "test") else 0)
        for p in ps[skip:]:
            if p.kind is p.VAR_POSITIONAL:
                self.varargs = True
            elif p.kind is p.VAR_KEYWORD:
                self.varkw = True
            elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.POSITIONAL_ONLY):
                self.params.append((p.name.rstrip("_"), p.name, p.default is p.empty))

    @property
    def required(self) -> int:
        return sum(1 for _, _, r in self.params if r)

    def bind(
        self,
        positional: list[str],
        named: list[tuple[str, str]],
        has_spread: bool,
        lineno: int,
        template: str | None,
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """Check a call's arguments; returns (positional code, [(python kw, code)])."""
        if not named and (has_spread or len(positional) >= self.required):
            if not self.varargs and not has_spread and len(positional) > len(self.params):
                raise TwigSyntaxError(f'Too many arguments for {self.kind} "{self.name}".', lineno, template)
            return positional, []
        by_twig = {t: (py, req) for t, py, req in self.params}
        filled = {self.params[i][0] for i in range(min(len(positional), len(self.params)))}
        kws: list[tuple[str, str]] = []
        for name, code in named:
            key = name if name in by_twig else snake(name)
            if key not in by_twig:
                if self.varkw:
                    kws.append((name, code))
                    continue
                sig = ", ".join(t for t, _, _ in self.params)
                raise TwigSyntaxError(
                    f'Unknown argument "{name}" for {self.kind} "{self.name}({sig})".', lineno, template
                )
            if key in filled:
                raise TwigSyntaxError(
                    f'Argument "{key}" is defined twice for {self.kind} "{self.name}".', lineno, template
                )
            filled.add(key)
            kws.append((by_twig[key][0], code))
        if not has_spread:
            for t, _py, req in self.params:
                if req and t not in filled:
                    raise TwigSyntaxError(
                        f'Value for argument "{t}" is required for {self.kind} "{self.name}".',
                        lineno,
                        template,
                    )
        return positional, kws
