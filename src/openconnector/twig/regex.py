"""PCRE pattern strings (``'/^fo/i'``) -> compiled patterns, for ``matches``.

Twig hands the pattern to ``preg_match``; we parse the delimiters and
modifiers the same way and report PHP's messages for invalid ones. Matching
must not hang on hostile patterns (``/(a+)+$/``): with the ``regex`` package
installed a match gets a time limit; without it, patterns with nested
unbounded quantifiers are refused.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .errors import RuntimeError as TwigRuntimeError

try:
    import regex as _regex  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - depends on the machine
    _regex = None

TIMEOUT = 1.0
_PAIRS = {"(": ")", "{": "}", "[": "]", "<": ">"}
_FLAGS = {"i": re.I, "m": re.M, "s": re.S, "x": re.X, "u": 0, "D": 0, "A": 0, "S": 0, "X": 0, "J": 0}


def _nested_quantifiers(body: str) -> bool:
    """True if a group holding an unbounded quantifier is itself repeated without bound."""
    stack: list[bool] = []
    unbounded_here = False
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            j = body.find("]", i + 2)
            i = len(body) if j < 0 else j + 1
            continue
        if c == "(":
            stack.append(unbounded_here)
            unbounded_here = False
        elif c == ")" and stack:
            inner = unbounded_here
            unbounded_here = stack.pop()
            nxt = body[i + 1 : i + 2]
            if nxt in ("*", "+") or (nxt == "{" and re.match(r"\{\d*,\}", body[i + 1 :])):
                if inner:
                    return True
                unbounded_here = True
            elif inner:
                unbounded_here = True
        elif c in "*+" or (c == "{" and re.match(r"\{\d*,\}", body[i:])):
            unbounded_here = True
        i += 1
    return False


@functools.lru_cache(maxsize=256)
def compile_php_regex(pattern: str) -> Any:
    """Compile a PHP regex with delimiters; raises Twig RuntimeError with PHP's warning text."""
    p = pattern.lstrip(" \t\n\r\v\f")
    if not p:
        raise TwigRuntimeError("Empty regular expression")
    d = p[0]
    if d.isalnum() or d == "\\" or d == "\0":
        raise TwigRuntimeError("Delimiter must not be alphanumeric, backslash, or NUL")
    end_d = _PAIRS.get(d, d)
    i, depth = 1, 1
    end = -1
    while i < len(p):
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if c == end_d and d != end_d:
            depth -= 1
            if depth == 0:
                end = i
                break
        elif c == d and d != end_d:
            depth += 1
        elif c == end_d:
            end = i
            break
        i += 1
    if end < 0:
        if d != end_d:
            raise TwigRuntimeError(f"No ending matching delimiter '{end_d}' found")
        raise TwigRuntimeError(f"No ending delimiter '{d}' found")
    body, mods = p[1:end], p[end + 1 :]
    flags = 0
    anchored = False
    for m in mods:
        if m in ("\n", " ", "\r"):
            continue
        if m not in _FLAGS:
            raise TwigRuntimeError(f"Unknown modifier '{m}'")
        flags |= _FLAGS[m]
        anchored = anchored or m == "A"
    if anchored:
        body = r"\A(?:" + body + ")"
    if _regex is not None:
        try:
            return _regex.compile(body, flags | _regex.VERSION0)
        except _regex.error as exc:
            raise TwigRuntimeError(f"Compilation failed: {exc}") from None
    if _nested_quantifiers(body):
        raise TwigRuntimeError("Compilation refused: nested unbounded quantifiers could run for ever")
    body = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", body)
    try:
        return re.compile(body, flags)
    except re.error as exc:
        raise TwigRuntimeError(f"Compilation failed: {exc}") from None


def search(rx: Any, subject: str) -> bool:
    """``preg_match`` that gives up after ``TIMEOUT`` seconds instead of hanging."""
    if _regex is not None:
        try:
            return rx.search(subject, timeout=TIMEOUT) is not None
        except TimeoutError:
            raise TwigRuntimeError("Regexp matching took too long (catastrophic backtracking?)") from None
    return rx.search(subject) is not None
