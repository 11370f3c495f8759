"""Twig's error tree: ``Error`` -> ``SyntaxError`` / ``RuntimeError`` / ``LoaderError``.

The classes deliberately carry Twig's names (they shadow the builtins only inside
this package) so that callers can match on what Twig users already know. The
message is built like Twig's ``Error::updateRepr``: the raw message loses its
final dot, gets `` in "name" at line N`` appended and the dot back, so
``str(error)`` equals PHP's ``getMessage()``.
"""

from __future__ import annotations

import json

__all__ = ["Error", "LoaderError", "RuntimeError", "SyntaxError"]


class Error(Exception):
    """Base of every error raised by :mod:`openconnector.twig`."""

    def __init__(self, message: str, lineno: int = 0, name: str | None = None) -> None:
        self.raw_message = message
        self.lineno = lineno
        self.template_name = name
        super().__init__(self._full())

    def _full(self) -> str:
        msg = self.raw_message
        dot = question = False
        if msg.endswith("."):
            msg, dot = msg[:-1], True
        elif msg.endswith("?"):
            msg, question = msg[:-1], True
        if self.template_name:
            msg += " in " + json.dumps(self.template_name).replace("/", "\\/")
        if self.lineno and self.lineno > 0:
            msg += f" at line {self.lineno}"
        if dot:
            msg += "."
        if question:
            msg += "?"
        return msg

    def locate(self, name: str | None, lineno: int) -> Error:
        """Fill in template name and line if they are still unknown (keeps the innermost)."""
        changed = False
        if self.template_name is None and name is not None:
            self.template_name = name
            changed = True
        if not self.lineno and lineno:
            self.lineno = lineno
            changed = True
        if changed:
            self.args = (self._full(),)
        return self

    def __str__(self) -> str:
        return self._full()


class SyntaxError(Error):  # noqa: A001 - Twig's name, on purpose
    """The template source is invalid; raised while compiling."""


class RuntimeError(Error):  # noqa: A001 - Twig's name, on purpose
    """Rendering failed (undefined variable in strict mode, bad operand, limit hit...)."""


class LoaderError(Error):
    """A template that was asked for does not exist."""
