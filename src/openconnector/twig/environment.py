"""``Environment`` (settings, registries, compile cache) and ``Template``.

An environment is cheap to keep and expensive to rebuild: it caches compiled
templates by source text, so a synchronisation that renders the same mapping
for every record compiles each expression once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from . import nodes as n
from . import runtime as rt
from .callables import TwigCallable
from .compiler import compile_template, fast_renderer
from .dates import get_timezone
from .errors import Error
from .errors import RuntimeError as TwigRuntimeError
from .errors import SyntaxError as TwigSyntaxError
from .filters import FILTERS, f_default
from .functions import FUNCTIONS
from .lexer import tokenize
from .parser import parse
from .predicates import TESTS

_SAFE_FILTERS = {"escape", "e", "nl2br", "raw"}
_ONE_ARG_TESTS = {"same as", "divisible by"}


class Environment:
    """Settings and extensions shared by the templates it compiles.

    >>> Environment().from_string("Hello {{ name|upper }}").render({"name": "ada"})
    'Hello ADA'
    """

    def __init__(
        self,
        strict_variables: bool = False,
        autoescape: str | bool = "html",
        timezone: str = "UTC",
        *,
        date_format: tuple[str, str] | list[str] = ("F j, Y H:i", "%d days"),
        number_format: tuple[int, str, str] | list[Any] = (0, ".", ","),
        max_range: int = 1_000_000,
        max_iterations: int = 1_000_000,
        max_output: int = 10_000_000,
        max_depth: int = 50,
        cache_size: int = 4096,
    ) -> None:
        self.strict_variables = bool(strict_variables)
        self.autoescape = autoescape if autoescape in ("html", False, None) else str(autoescape)
        get_timezone(timezone)  # validate early
        self.timezone = timezone
        self.date_format = list(date_format)
        self.number_format = list(number_format)
        self.max_range = max_range
        self.max_iterations = max_iterations
        self.max_output = max_output
        self.max_depth = max_depth
        self.cache_size = cache_size
        self.globals: dict[str, Any] = {}
        self.filters: dict[str, TwigCallable] = {}
        self.functions: dict[str, TwigCallable] = {}
        self.tests: dict[str, TwigCallable] = {}
        self._cache: OrderedDict[tuple[str, str], Template] = OrderedDict()
        for name, fn in FILTERS.items():
            self.filters[name] = TwigCallable(
                name,
                fn,
                "filter",
                needs_state=True,
                is_safe=name in _SAFE_FILTERS,
                pre_escape=name == "nl2br",
            )
        self.filters["default"] = TwigCallable("default", f_default, "filter")
        for name, fn in FUNCTIONS.items():
            self.functions[name] = TwigCallable(name, fn, "function", needs_state=True)
        for name, fn in TESTS.items():
            self.tests[name] = TwigCallable(name, fn, "test")

    # -------------------------------------------------------- extension API

    def add_filter(self, name: str, fn: Callable[..., Any], *, is_safe: bool = False) -> None:
        """Register ``fn(value, *args, **kwargs)`` as filter ``name``."""
        self.filters[name] = TwigCallable(name, fn, "filter", is_safe=is_safe)
        self._cache.clear()

    def add_function(self, name: str, fn: Callable[..., Any], *, is_safe: bool = False) -> None:
        """Register ``fn(*args, **kwargs)`` as function ``name``."""
        self.functions[name] = TwigCallable(name, fn, "function", is_safe=is_safe)
        self._cache.clear()

    def add_test(self, name: str, fn: Callable[..., Any]) -> None:
        """Register ``fn(value, *args)`` as test ``name`` (names may contain one space: ``same as``)."""
        self.tests[name] = TwigCallable(name, fn, "test")
        self._cache.clear()

    def add_global(self, name: str, value: Any) -> None:
        self.globals[name] = value

    def _test_arity(self, name: str) -> int | None:
        t = self.tests.get(name)
        if t is None:
            return None
        return 1 if name in _ONE_ARG_TESTS else t.required

    # -------------------------------------------------------- compiling

    def from_string(self, source: str, name: str = "index.twig") -> Template:
        """Compile (or fetch from the cache) a template."""
        key = (source, name)
        tpl = self._cache.get(key)
        if tpl is not None:
            return tpl
        tpl = Template(self, source, name)
        self._cache[key] = tpl
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return tpl

    def render(self, source: str, context: Mapping[str, Any] | None = None) -> str:
        return self.from_string(source).render(context)


class Template:
    """A compiled template; ``render(context)`` may be called from many threads."""

    def __init__(self, env: Environment, source: str, name: str = "index.twig") -> None:
        self.env = env
        self.name = name
        self.source = source
        try:
            tokens = tokenize(source, name)
            body = parse(tokens, name, env._test_arity, env.max_depth)
        except RecursionError:
            raise TwigSyntaxError("The template is nested too deeply.", 0, name) from None
        self._mutates = _mutates(body)
        fast = fast_renderer(env, body, name)
        self._fn, self._linemap, self._filename = compile_template(env, body, name)
        if fast is not None:
            self.render = fast  # type: ignore[method-assign]

    def render(self, context: Mapping[str, Any] | None = None) -> str:
        """Render against ``context`` (a record); the context itself is never modified."""
        env = self.env
        if env.globals or self._mutates or context.__class__ is not dict:
            ctx = dict(env.globals)
            if context:
                ctx.update(context)
        else:
            ctx = context  # read-only use: no copy needed
        st = rt.State(env)
        try:
            return self._fn(ctx, st)
        except Error as e:
            e.locate(self.name, self._line(e.__traceback__))
            raise e.with_traceback(None) from None
        except Exception as e:  # any Python error becomes Twig's RuntimeError
            line = self._line(e.__traceback__)
            if isinstance(e, RecursionError):
                msg = "Maximum nesting depth exceeded while rendering."
            elif isinstance(e, MemoryError):
                msg = "Out of memory while rendering."
            else:
                msg = f'An exception has been thrown during the rendering of a template ("{e}").'
            raise TwigRuntimeError(msg, line, self.name) from None

    def _line(self, tb: TracebackType | None) -> int:
        line = 0
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self._filename:
                idx = tb.tb_lineno - 1
                if 0 <= idx < len(self._linemap):
                    line = self._linemap[idx]
            tb = tb.tb_next
        return line


def _mutates(body: list[n.Node]) -> bool:
    """Can rendering assign variables (so the context must be copied first)?"""
    return not all(isinstance(x, (n.Text, n.Print)) for x in body)


_default_envs: dict[tuple[Any, ...], Environment] = {}


def render(source: str, context: Mapping[str, Any] | None = None, **options: Any) -> str:
    """Render ``source`` once, with a cached environment per option set.

    >>> render("{{ a ~ b }}", {"a": 1, "b": "x"})
    '1x'
    """
    key = tuple(sorted((k, repr(v)) for k, v in options.items()))
    env = _default_envs.get(key)
    if env is None:
        env = _default_envs[key] = Environment(**options)
    return env.from_string(source).render(context)
