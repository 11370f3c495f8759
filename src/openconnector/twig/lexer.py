"""Template source -> tokens, following Twig 3's lexer.

Twig's whitespace rules are part of its behaviour and mappings depend on them:
``{%-``/``-%}`` trim all whitespace, ``{%~``/``~%}`` trim spaces and tabs only,
a plain ``%}`` or ``#}`` eats one following newline, ``}}`` never does, and
``verbatim`` content is taken raw. Word operators (``in``, ``not in``,
``starts with``...) are recognised only when followed by whitespace or an
opening bracket and not preceded by ``.`` or ``|``, so ``foo.not`` and a
variable called ``in`` still work.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from .errors import SyntaxError as TwigSyntaxError

__all__ = ["Token", "tokenize", "stripcslashes", "UNARY_OPERATORS", "BINARY_OPERATORS"]

TEXT, VAR_START, VAR_END, BLOCK_START, BLOCK_END = "text", "var_start", "var_end", "block_start", "block_end"
NAME, NUMBER, STRING, OPERATOR, PUNCT = "name", "number", "string", "operator", "punctuation"
INTERP_START, INTERP_END, ARROW, SPREAD, EOF = (
    "interpolation_start",
    "interpolation_end",
    "arrow",
    "spread",
    "end",
)

TYPE_ENGLISH = {
    TEXT: "text",
    VAR_START: "begin of print statement",
    VAR_END: "end of print statement",
    BLOCK_START: "begin of statement block",
    BLOCK_END: "end of statement block",
    NAME: "name",
    NUMBER: "number",
    STRING: "string",
    OPERATOR: "operator",
    PUNCT: "punctuation",
    INTERP_START: "begin of string interpolation",
    INTERP_END: "end of string interpolation",
    ARROW: "arrow function",
    SPREAD: "spread operator",
    EOF: "end of template",
}

# name -> (precedence, associativity); from Twig's CoreExtension (3.x).
UNARY_OPERATORS: dict[str, int] = {"not": 50, "-": 500, "+": 500}
BINARY_OPERATORS: dict[str, tuple[int, str]] = {
    "or": (10, "left"),
    "xor": (12, "left"),
    "and": (15, "left"),
    "b-or": (16, "left"),
    "b-xor": (17, "left"),
    "b-and": (18, "left"),
    "==": (20, "left"),
    "!=": (20, "left"),
    "<=>": (20, "left"),
    "<": (20, "left"),
    ">": (20, "left"),
    ">=": (20, "left"),
    "<=": (20, "left"),
    "not in": (20, "left"),
    "in": (20, "left"),
    "matches": (20, "left"),
    "starts with": (20, "left"),
    "ends with": (20, "left"),
    "has some": (20, "left"),
    "has every": (20, "left"),
    "..": (25, "left"),
    "+": (30, "left"),
    "-": (30, "left"),
    "~": (40, "left"),
    "*": (60, "left"),
    "/": (60, "left"),
    "//": (60, "left"),
    "%": (60, "left"),
    "is": (100, "left"),
    "is not": (100, "left"),
    "**": (200, "right"),
    "??": (300, "right"),
}


def _operator_regex() -> re.Pattern[str]:
    ops = sorted({"=", *UNARY_OPERATORS, *BINARY_OPERATORS}, key=len, reverse=True)
    parts = []
    for op in ops:
        r = re.escape(op)
        if op[-1].isalpha():
            r += r"(?=[\s()\[{])"
        if op[0].isalpha():
            r = r"(?<![.|])" + r
        r = re.sub(r"(\\ |\s)+", r"\\s+", r)
        parts.append(r)
    return re.compile("|".join(parts))


_OPERATOR = _operator_regex()
_NAME = re.compile(r"[a-zA-Z_\u007f-\U0010ffff][a-zA-Z0-9_\u007f-\U0010ffff]*")
_NUMBER = re.compile(r"[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?([Ee][+\-][0-9]+(?:_[0-9]+)*)?")
_STRING = re.compile(r'"([^#"\\]*(?:\\.[^#"\\]*)*)"|\'([^\'\\]*(?:\\.[^\'\\]*)*)\'', re.S)
_DQ_PART = re.compile(r'[^#"\\]*(?:(?:\\.|#(?!\{))[^#"\\]*)*', re.S)
_WS = re.compile(r"\s+")
_START = re.compile(r"(\{\{|\{%|\{#)([-~]?)")
_VAR_END = re.compile(r"\s*(?:-}}\s*|~}}[ \t\0\x0b]*|}})")
_BLOCK_END = re.compile(r"\s*(?:-%}\s*|~%}[ \t\0\x0b]*|%}\n?)")
_COMMENT_END = re.compile(r"(?:-#}\s*|~#}[ \t\0\x0b]*|#}\n?)", re.S)
_VERBATIM_START = re.compile(r"\s*verbatim\s*(?:-%}\s*|~%}[ \t\0\x0b]*|%})", re.S)
_VERBATIM_END = re.compile(r"\{%([-~]?)\s*endverbatim\s*(?:-%}\s*|~%}[ \t\0\x0b]*|%})", re.S)
_PUNCT = "()[]{}?:.,|"
_LINE_WS = " \t\0\x0b"
_ALL_WS = " \t\n\r\0\x0b"

_CESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_CSLASH = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)", re.S)


def stripcslashes(s: str) -> str:
    """PHP ``stripcslashes``: C-style escapes, unknown escapes drop the backslash."""
    if "\\" not in s:
        return s

    def rep(m: re.Match[str]) -> str:
        e = m.group(1)
        if e in _CESC:
            return _CESC[e]
        if e[0] == "x" and len(e) > 1:
            return chr(int(e[1:], 16))
        if e[0] in "01234567":
            return chr(int(e, 8) & 0xFF)
        return e

    return _CSLASH.sub(rep, s)


@dataclass(slots=True)
class Token:
    type: str
    value: object
    line: int

    def test(self, type_: str, value: object = None) -> bool:
        if self.type != type_:
            return False
        if value is None:
            return True
        if isinstance(value, (tuple, list, set, frozenset)):
            return self.value in value
        return self.value == value


class _Lexer:
    def __init__(self, source: str, name: str | None) -> None:
        self.src = source.replace("\r\n", "\n").replace("\r", "\n")
        self.name = name
        self.tokens: list[Token] = []
        self.pos = 0
        self.brackets: list[tuple[str, int]] = []
        self._nl = [i for i, c in enumerate(self.src) if c == "\n"]

    def line(self, pos: int | None = None) -> int:
        return bisect.bisect_left(self._nl, self.pos if pos is None else pos) + 1

    def error(self, msg: str, pos: int | None = None) -> TwigSyntaxError:
        return TwigSyntaxError(msg, self.line(pos), self.name)

    def push(self, type_: str, value: object, pos: int | None = None) -> None:
        self.tokens.append(Token(type_, value, self.line(pos)))

    def run(self) -> list[Token]:
        src, n = self.src, len(self.src)
        while self.pos < n:
            m = _START.search(src, self.pos)
            if m is None:
                self.push(TEXT, src[self.pos :])
                self.pos = n
                break
            text = src[self.pos : m.start()]
            mod = m.group(2)
            if mod == "-":
                text = text.rstrip(_ALL_WS)
            elif mod == "~":
                text = text.rstrip(_LINE_WS)
            if text:
                self.push(TEXT, text)
            kind = m.group(1)
            self.pos = m.end()
            if kind == "{#":
                end = _COMMENT_END.search(src, self.pos)
                if end is None:
                    raise self.error("Unclosed comment.", m.start())
                self.pos = end.end()
            elif kind == "{{":
                self.push(VAR_START, "{{", m.start())
                self.lex_expression(_VAR_END, VAR_END)
            else:
                vm = _VERBATIM_START.match(src, self.pos)
                if vm is not None:
                    self.lex_verbatim(vm, m.start())
                    continue
                self.push(BLOCK_START, "{%", m.start())
                self.lex_expression(_BLOCK_END, BLOCK_END)
        self.push(EOF, None, n)
        return self.tokens

    def lex_verbatim(self, vm: re.Match[str], start: int) -> None:
        self.pos = vm.end()
        end = _VERBATIM_END.search(self.src, self.pos)
        if end is None:
            raise self.error('Unexpected end of file: Unclosed "verbatim" block.', start)
        text = self.src[self.pos : end.start()]
        if end.group(1) == "-":
            text = text.rstrip(_ALL_WS)
        elif end.group(1) == "~":
            text = text.rstrip(_LINE_WS)
        if text:
            self.push(TEXT, text)
        self.pos = end.end()

    def lex_expression(self, end_re: re.Pattern[str], end_type: str) -> None:
        src, n = self.src, len(self.src)
        start = self.pos
        while True:
            if not self.brackets:
                m = end_re.match(src, self.pos)
                if m is not None:
                    self.push(end_type, None)
                    self.pos = m.end()
                    return
            if self.pos >= n:
                what = "variable" if end_type == VAR_END else "block"
                raise self.error(f'Unclosed "{what}".', start)
            if not self.lex_token():
                return

    def lex_token(self) -> bool:
        """Lex one expression token; returns False at the end of an interpolation."""
        src, n = self.src, len(self.src)
        m = _WS.match(src, self.pos)
        if m:
            self.pos = m.end()
            if self.pos >= n:
                return True
        c = src[self.pos]
        if src.startswith("=>", self.pos):
            self.push(ARROW, "=>")
            self.pos += 2
            return True
        if src.startswith("...", self.pos):
            self.push(SPREAD, "...")
            self.pos += 3
            return True
        m = _OPERATOR.match(src, self.pos)
        if m:
            self.push(OPERATOR, re.sub(r"\s+", " ", m.group(0)))
            self.pos = m.end()
            return True
        m = _NAME.match(src, self.pos)
        if m:
            self.push(NAME, m.group(0))
            self.pos = m.end()
            return True
        m = _NUMBER.match(src, self.pos)
        if m:
            raw = m.group(0).replace("_", "")
            value: int | float
            if raw.isdigit() and int(raw) <= 2**63 - 1:
                value = int(raw)
            else:
                value = float(raw)
            self.push(NUMBER, value)
            self.pos = m.end()
            return True
        if c in _PUNCT:
            if c in "([{":
                self.brackets.append((c, self.line()))
            elif c in ")]}":
                if not self.brackets:
                    raise self.error(f'Unexpected "{c}".')
                expect, line = self.brackets.pop()
                if expect == "#{":
                    if c != "}":
                        raise self.error(f'Unclosed "{expect}".')
                    self.push(INTERP_END, None)
                    self.pos += 1
                    return False
                if {"(": ")", "[": "]", "{": "}"}[expect] != c:
                    raise TwigSyntaxError(f'Unclosed "{expect}".', line, self.name)
            self.push(PUNCT, c)
            self.pos += 1
            return True
        m = _STRING.match(src, self.pos)
        if m:
            s = m.group(1) if m.group(1) is not None else m.group(2)
            self.push(STRING, stripcslashes(s))
            self.pos = m.end()
            return True
        if c == '"':
            self.lex_dq_string()
            return True
        raise self.error(f'Unexpected character "{c}".')

    def lex_dq_string(self) -> None:
        """A double-quoted string containing ``#{...}`` interpolations."""
        src, n = self.src, len(self.src)
        start = self.pos
        self.pos += 1
        while True:
            if self.pos >= n:
                raise self.error('Unclosed """.', start)
            if src.startswith("#{", self.pos):
                self.push(INTERP_START, "")
                self.brackets.append(("#{", self.line()))
                depth = len(self.brackets)
                self.pos += 2
                while len(self.brackets) >= depth:
                    if self.pos >= n:
                        raise self.error('Unclosed "#{".', start)
                    self.lex_token()
                continue
            if src[self.pos] == '"':
                self.pos += 1
                return
            m = _DQ_PART.match(src, self.pos)
            if not m or m.end() == self.pos:
                # a lone backslash at the end, or similar: take one char
                self.push(STRING, src[self.pos])
                self.pos += 1
                continue
            self.push(STRING, stripcslashes(m.group(0)))
            self.pos = m.end()


def tokenize(source: str, name: str | None = None) -> list[Token]:
    """Split a template into tokens (raises :class:`SyntaxError` on lexical errors)."""
    return _Lexer(source, name).run()
