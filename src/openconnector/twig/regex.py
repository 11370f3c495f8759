"""PCRE pattern strings (``'/^fo/i'``) -> Python ``re`` patterns, for ``matches``.

Twig hands the pattern to ``preg_match``; we parse the delimiters and
modifiers the same way and report PHP's messages for invalid ones.
"""

from __future__ import annotations

import functools
import re

from .errors import RuntimeError as TwigRuntimeError

_PAIRS = {"(": ")", "{": "}", "[": "]", "<": ">"}
_FLAGS = {"i": re.I, "m": re.M, "s": re.S, "x": re.X, "u": 0, "D": 0, "A": 0, "S": 0, "X": 0, "J": 0}


@functools.lru_cache(maxsize=256)
def compile_php_regex(pattern: str) -> re.Pattern[str]:
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
    body, mods = p[1:end], p[end + 1:]
    flags = 0
    anchored = False
    for m in mods:
        if m in ("\n", " ", "\r"):
            continue
        if m not in _FLAGS:
            raise TwigRuntimeError(f"Unknown modifier '{m}'")
        flags |= _FLAGS[m]
        anchored = anchored or m == "A"
    body = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", body)
    if anchored:
        body = r"\A(?:" + body + ")"
    try:
        return re.compile(body, flags)
    except re.error as exc:
        raise TwigRuntimeError(f"Compilation failed: {exc}") from None
