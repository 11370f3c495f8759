"""Syntax tree -> Python source -> code object.

A mapping engine renders the same few templates for every record, so the
work per render must be close to what hand-written Python would do. Each
template becomes one Python function (``render(ctx, _st)``) whose body is
straight-line code: variable lookups are inlined dict operations, PHP
semantics live in small helpers from :mod:`.runtime`. Templates that are only
static text or a lone ``{{ name }}`` / ``{{ a.b.c }}`` skip even that and get a
specialised closure (see :func:`fast_renderer`).

The generated source keeps a map from its lines to template lines, used to
put Twig line numbers on errors raised while rendering.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

from . import nodes as n
from . import runtime as rt
from .callables import TwigCallable
from .errors import SyntaxError as TwigSyntaxError
from .regex import compile_php_regex, search

_BIN_FUNCS = {
    "+": "_add",
    "-": "_sub",
    "*": "_mul",
    "/": "_div",
    "//": "_fdiv",
    "%": "_mod",
    "**": "_pow",
    "b-and": "_band",
    "b-or": "_bor",
    "b-xor": "_bxor",
    "<=>": "_cmp",
    "in": "_in",
    "starts with": "_sw",
    "ends with": "_ew",
    "matches": "_match",
    "has some": "_hsome",
    "has every": "_hevery",
}
_CMP = {"<": "< 0", ">": "> 0", "<=": "<= 0", ">=": ">= 0"}
# filters whose output needs no escaping (Twig's is_safe => ['html'])
SAFE_FILTERS = {"raw", "escape", "e", "nl2br", "json_encode_safe"}


class Compiler:
    def __init__(self, env: Any, name: str | None) -> None:
        self.env = env
        self.name = name
        self.strict = env.strict_variables
        self.autoescape = bool(env.autoescape)
        self.lines: list[str] = []
        self.linemap: list[int] = []
        self.indent = 1
        self.counter = 0
        self.scopes: list[dict[str, str]] = []
        self.namespace: dict[str, Any] = {}
        self.callables: dict[int, str] = {}
        self.cur_line = 1

    # ------------------------------------------------------------ helpers

    def tmp(self, prefix: str = "_t") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, code: str, line: int | None = None) -> None:
        self.lines.append("    " * self.indent + code)
        self.linemap.append(self.cur_line if line is None else line)

    def error(self, msg: str, line: int) -> TwigSyntaxError:
        return TwigSyntaxError(msg, line, self.name)

    def ref(self, c: TwigCallable) -> str:
        key = id(c)
        if key not in self.callables:
            nm = f"_c{len(self.callables)}_{re.sub(r'[^0-9a-zA-Z_]', '_', c.name)}"
            self.callables[key] = nm
            self.namespace[nm] = c.fn
        return self.callables[key]

    def const(self, value: Any) -> str:
        if isinstance(value, float) and not math.isfinite(value):
            nm = self.tmp("_k")
            self.namespace[nm] = value
            return nm
        if isinstance(value, (str, int, float, bool)) or value is None:
            return repr(value)
        nm = self.tmp("_k")
        self.namespace[nm] = value
        return nm

    # ------------------------------------------------------------ template

    def compile(self, body: list[n.Node]) -> tuple[str, list[int]]:
        self.lines.append("def render(ctx, _st):")
        self.linemap.append(1)
        if all(isinstance(x, (n.Text, n.Print)) for x in body):
            # the common mapping shape: text and prints only -> one expression, no buffer
            if len(body) == 1 and isinstance(body[0], n.Print):
                self.cur_line = body[0].lineno
                self.emit(f"return {self.printed(body[0].expr)}", body[0].lineno)
            elif not body:
                self.emit("return ''")
            else:
                # one part per line so that tracebacks map back to the template line
                self.emit("return ''.join((")
                for x in body:
                    self.cur_line = x.lineno
                    part = repr(x.text) if isinstance(x, n.Text) else self.printed(x.expr)
                    self.emit(f"    {part},", x.lineno)
                self.emit("))")
            return "\n".join(self.lines) + "\n", self.linemap
        self.emit("_o = []")
        self.emit("_w = _o.append")
        self.statements(body)
        self.emit("return ''.join(_o)")
        return "\n".join(self.lines) + "\n", self.linemap

    def statements(self, body: list[n.Node]) -> None:
        start = len(self.lines)
        pending: list[str] = []
        for node in body:
            if isinstance(node, n.Text):
                pending.append(node.text)
                continue
            if pending:
                self.emit(f"_w({''.join(pending)!r})")
                pending = []
            self.cur_line = node.lineno
            getattr(self, "stmt_" + type(node).__name__)(node)
        if pending:
            self.emit(f"_w({''.join(pending)!r})")
        if len(self.lines) == start:
            self.emit("pass")

    def stmt_Print(self, node: n.Print) -> None:
        self.emit(f"_w({self.printed(node.expr)})", node.lineno)

    def printed(self, e: n.Expr) -> str:
        """Code for a printed value, escaping each branch of a ternary separately (like Twig)."""
        if isinstance(e, n.Cond) and self.autoescape:
            return f"({self.printed(e.then)} if _b({self.expr(e.test)}) else {self.printed(e.otherwise)})"
        if isinstance(e, n.Const):
            return repr(rt.to_str(e.value))
        if not self.autoescape or self.is_safe(e):
            return f"_s({self.expr(e)})"
        return f"_e({self.expr(e)})"

    def is_safe(self, e: n.Expr) -> bool:
        if isinstance(e, n.Const):
            return True
        if isinstance(e, n.Cond):
            return self.is_safe(e.then) and self.is_safe(e.otherwise)
        if isinstance(e, n.Filter):
            if e.name in SAFE_FILTERS:
                return True
            f = self.env.filters.get(e.name)
            return bool(f and f.is_safe)
        if isinstance(e, n.Func):
            f = self.env.functions.get(e.name)
            return bool(f and f.is_safe)
        return False

    def stmt_If(self, node: n.If) -> None:
        for i, (cond, body) in enumerate(node.branches):
            kw = "if" if i == 0 else "elif"
            self.emit(f"{kw} _b({self.expr(cond)}):", cond.lineno)
            self.indent += 1
            self.statements(body)
            self.indent -= 1
        if node.otherwise is not None:
            self.emit("else:")
            self.indent += 1
            self.statements(node.otherwise)
            self.indent -= 1

    def stmt_For(self, node: n.For) -> None:
        p, seq, i, ln = self.tmp("_p"), self.tmp("_q"), self.tmp("_i"), self.tmp("_n")
        kv, vv = self.tmp("_k"), self.tmp("_v")
        uses_loop = _uses_loop(node.body)
        self.emit(f"{p} = dict(ctx)", node.lineno)
        self.emit(f"{seq} = _items({self.expr(node.seq)})", node.lineno)
        self.emit(f"{i} = 0")
        if uses_loop:
            self.emit(f"{ln} = len({seq})")
        self.emit(f"for {kv}, {vv} in {seq}:")
        self.indent += 1
        self.emit("_st.ticks += 1")
        self.emit("if _st.ticks > _st.max_ticks or not _st.ticks & 1023: _chk(_st, _o)")
        if node.key is not None:
            self.emit(f"ctx[{node.key!r}] = {kv}")
        self.emit(f"ctx[{node.value!r}] = {vv}")
        if uses_loop:
            self.emit(
                f"ctx['loop'] = {{'parent': {p}, 'index0': {i}, 'index': {i} + 1, 'revindex0': {ln} - {i} - 1, "
                f"'revindex': {ln} - {i}, 'first': {i} == 0, 'last': {i} == {ln} - 1, 'length': {ln}}}"
            )
        self.statements(node.body)
        self.emit(f"{i} += 1")
        self.indent -= 1
        if node.otherwise is not None:
            self.emit(f"if not {i}:")
            self.indent += 1
            self.statements(node.otherwise)
            self.indent -= 1
        names = [x for x in (node.key, node.value, "loop") if x]
        for nm in names:
            self.emit(f"ctx.pop({nm!r}, None)")
        self.emit(f"_restore(ctx, {p})")

    def stmt_Set(self, node: n.Set) -> None:
        targets = ", ".join(f"ctx[{nm!r}]" for nm in node.names)
        vals = ", ".join(self.expr(v) for v in node.values)
        self.emit(f"{targets} = {vals}", node.lineno)

    def _capture(self, body: list[n.Node]) -> str:
        o, w, res = self.tmp("_o"), self.tmp("_w"), self.tmp("_r")
        self.emit(f"{o}, {w} = _o, _w")
        self.emit("_o = []")
        self.emit("_w = _o.append")
        self.statements(body)
        self.emit(f"{res} = ''.join(_o)")
        self.emit(f"_o, _w = {o}, {w}")
        return res

    def stmt_SetCapture(self, node: n.SetCapture) -> None:
        res = self._capture(node.body)
        self.emit(f"ctx[{node.name!r}] = _M({res}) if {res} else ''")

    def stmt_With(self, node: n.With) -> None:
        saved = self.tmp("_x")
        val = self.expr(node.expr) if node.expr is not None else "_U"
        self.emit(f"{saved} = ctx", node.lineno)
        self.emit(f"ctx = _with(_st.env, ctx, {val}, {node.only!r})", node.lineno)
        self.statements(node.body)
        self.emit(f"ctx = {saved}")

    def stmt_Do(self, node: n.Do) -> None:
        self.emit(self.expr(node.expr), node.lineno)

    def stmt_Apply(self, node: n.Apply) -> None:
        res = self._capture(node.body)
        code = f"_M({res})"
        for name, args, line in node.filters:
            code = self.call_filter(name, code, args, line, node_value=None)
        self.emit(f"_w(_s({code}))", node.lineno)

    # ------------------------------------------------------------ expressions

    def expr(self, e: n.Expr, soft: bool = False) -> str:
        return getattr(self, "ex_" + type(e).__name__)(e, soft)

    def ex_Const(self, e: n.Const, soft: bool) -> str:
        return self.const(e.value)

    def ex_Name(self, e: n.Name, soft: bool) -> str:
        for scope in reversed(self.scopes):
            if e.name in scope:
                return scope[e.name]
        if e.name == "_context":
            return "ctx"
        if e.name == "_self":
            return repr(self.name or "")
        key = repr(e.name)
        if soft:
            return f"ctx.get({key}, _U)"
        if self.strict:
            return f"(ctx[{key}] if {key} in ctx else _undef({key}, {e.lineno}))"
        return f"ctx.get({key})"

    def ex_GetAttr(self, e: n.GetAttr, soft: bool) -> str:
        obj = self.expr(e.node, soft)
        key = self.expr(e.attr)
        method = e.kind == "method"
        args = "None"
        if e.args is not None:
            args = "(" + "".join(self.expr(a.value) + ", " for a in e.args) + ")"
        if soft:
            return f"_gas({obj}, {key}, {args}, {method})"
        if self.strict:
            return f"_ga({obj}, {key}, {args}, {method}, {e.kind == 'array'})"
        if not method and args == "None":
            return f"_gal({obj}, {key})"
        return f"_gal({obj}, {key}, {args}, {method})"

    def ex_ArrayLit(self, e: n.ArrayLit, soft: bool) -> str:
        parts = [(f"*_vals({self.expr(v)})" if sp else self.expr(v)) for v, sp in e.elements]
        return "[" + ", ".join(parts) + "]"

    def ex_HashLit(self, e: n.HashLit, soft: bool) -> str:
        if any(k is None for k, _ in e.pairs) or not all(isinstance(k, n.Const) for k, _ in e.pairs):
            parts = []
            for k, v in e.pairs:
                if k is None:
                    parts.append(f"(_U, {self.expr(v)})")
                else:
                    parts.append(f"({self.expr(k)}, {self.expr(v)})")
            return "_hash([" + ", ".join(parts) + "])"
        items = []
        all_int = True
        for k, v in e.pairs:
            assert isinstance(k, n.Const)
            try:
                key = rt.norm_key(k.value)
            except Exception as exc:
                raise self.error("Illegal offset type.", e.lineno) from exc
            all_int = all_int and isinstance(key, int)
            items.append(f"{key!r}: {self.expr(v)}")
        code = "{" + ", ".join(items) + "}"
        return f"_compact({code})" if all_int and items else code

    def ex_Unary(self, e: n.Unary, soft: bool) -> str:
        if e.op == "not":
            return f"(not _b({self.expr(e.node)}))"
        if isinstance(e.node, n.Const) and type(e.node.value) in (int, float):
            return self.const(-e.node.value if e.op == "-" else e.node.value)
        return f"{'_neg' if e.op == '-' else '_pos'}({self.expr(e.node)})"

    def ex_Cond(self, e: n.Cond, soft: bool) -> str:
        return f"({self.expr(e.then)} if _b({self.expr(e.test)}) else {self.expr(e.otherwise)})"

    def ex_Binary(self, e: n.Binary, soft: bool) -> str:
        op = e.op
        if op == "~":
            parts: list[n.Expr] = []
            stack: list[n.Expr] = [e]
            while stack:
                x = stack.pop()
                if isinstance(x, n.Binary) and x.op == "~":
                    stack.append(x.right)
                    stack.append(x.left)
                else:
                    parts.append(x)
            return "_cat(_st, " + ", ".join(self.expr(p) for p in parts) + ")"
        if op == "??":
            t = self.tmp()
            return f"({t} if ({t} := {self.expr(e.left, True)}) is not _U and {t} is not None else {self.expr(e.right)})"
        left, right = self.expr(e.left), self.expr(e.right)
        if op == "and":
            return f"(_b({left}) and _b({right}))"
        if op == "or":
            return f"(_b({left}) or _b({right}))"
        if op == "xor":
            return f"(_b({left}) != _b({right}))"
        if op == "==":
            return f"_eq({left}, {right})"
        if op == "!=":
            return f"(not _eq({left}, {right}))"
        if op in _CMP:
            return f"(_cmp({left}, {right}) {_CMP[op]})"
        if op == "not in":
            return f"(not _in({left}, {right}))"
        if op == "..":
            return f"_range(_st, {left}, {right})"
        if op == "matches" and isinstance(e.right, n.Const):
            try:
                compile_php_regex(rt.to_str(e.right.value))
            except Exception as exc:
                msg = str(getattr(exc, "raw_message", exc))
                raise self.error(
                    f'Regexp "{rt.to_str(e.right.value)}" passed to "matches" is not valid: {msg}.', e.lineno
                ) from None
        return f"{_BIN_FUNCS[op]}({left}, {right})"

    def ex_ArrowFn(self, e: n.ArrowFn, soft: bool) -> str:
        scope = {p: self.tmp("_a") for p in e.params}
        self.scopes.append(scope)
        try:
            body = self.expr(e.body)
        finally:
            self.scopes.pop()
        params = "".join(f"{py}=None, " for py in scope.values())
        return f"_arrow(_st, lambda {params}*_r: {body})"

    def args_code(self, c: TwigCallable, args: list[n.Arg], line: int) -> str:
        positional: list[str] = []
        named: list[tuple[str, str]] = []
        spread = False
        for a in args:
            code = self.expr(a.value)
            if a.spread:
                spread = True
                positional.append(f"*_vals({code})")
            elif a.name is not None:
                named.append((a.name, code))
            else:
                positional.append(code)
        pos, kws = c.bind(positional, named, spread, line, self.name)
        return "".join(f", {p}" for p in pos) + "".join(f", {k}={v}" for k, v in kws)

    def call_filter(
        self, name: str, value: str, args: list[n.Arg], line: int, node_value: n.Expr | None
    ) -> str:
        f = self.env.filters.get(name)
        if f is None:
            raise self.error(f'Unknown "{name}" filter.', line)
        if f.pre_escape and self.autoescape and not (node_value is not None and self.is_safe(node_value)):
            value = f"_pre({value})"
        st = "_st, " if f.needs_state else ""
        return f"{self.ref(f)}({st}{value}{self.args_code(f, args, line)})"

    def ex_Filter(self, e: n.Filter, soft: bool) -> str:
        if e.name == "default":
            f = self.env.filters["default"]
            if isinstance(e.node, (n.Name, n.GetAttr)):
                value = self.expr(e.node, True)
            else:
                value = self.expr(e.node)
            return f"{self.ref(f)}({value}{self.args_code(f, e.args, e.lineno)})"
        if e.name == "raw":
            return self.expr(e.node)
        return self.call_filter(e.name, self.expr(e.node), e.args, e.lineno, e.node)

    def ex_Func(self, e: n.Func, soft: bool) -> str:
        f = self.env.functions.get(e.name)
        if f is None:
            raise self.error(f'Unknown "{e.name}" function.', e.lineno)
        st = "_st" if f.needs_state else ""
        args = self.args_code(f, e.args, e.lineno)
        if not st:
            args = args[2:]
        return f"{self.ref(f)}({st}{args})"

    def ex_Test(self, e: n.Test, soft: bool) -> str:
        if e.name == "defined":
            if isinstance(e.node, (n.Name, n.GetAttr)):
                return f"({self.expr(e.node, True)} is not _U)"
            return "True"
        t = self.env.tests.get(e.name)
        if t is None:
            raise self.error(f'Unknown "{e.name}" test.', e.lineno)
        return f"{self.ref(t)}({self.expr(e.node)}{self.args_code(t, e.args, e.lineno)})"


def _uses_loop(body: list[n.Node]) -> bool:
    """Does a loop body mention ``loop`` or ``_context`` (so the loop hash must be built)?"""
    stack: list[Any] = list(body)
    while stack:
        x = stack.pop()
        if isinstance(x, n.Name) and x.name in ("loop", "_context"):
            return True
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif dataclasses.is_dataclass(x):
            for f in dataclasses.fields(x):
                stack.append(getattr(x, f.name))
    return False


RUNTIME_NAMESPACE: dict[str, Any] = {
    "_U": rt.UNDEFINED,
    "_M": rt.Markup,
    "_b": rt.to_bool,
    "_s": rt.print_value,
    "_e": rt.escape_value,
    "_undef": rt.undefined_variable,
    "_ga": rt.get_attr_strict,
    "_gal": rt.get_attr_lenient,
    "_gas": rt.get_attr_soft,
    "_items": rt.items,
    "_vals": rt.values,
    "_restore": rt.restore_scope,
    "_with": rt.with_scope,
    "_chk": None,
    "_cat": rt.concat,
    "_range": rt.make_range,
    "_eq": rt.loose_eq,
    "_cmp": rt.compare,
    "_in": rt.contains,
    "_add": rt.add,
    "_sub": rt.sub,
    "_mul": rt.mul,
    "_div": rt.div,
    "_fdiv": rt.floordiv,
    "_mod": rt.mod,
    "_pow": rt.power,
    "_band": rt.b_and,
    "_bor": rt.b_or,
    "_bxor": rt.b_xor,
    "_neg": rt.neg,
    "_pos": rt.pos,
    "_sw": rt.starts_with,
    "_ew": rt.ends_with,
    "_compact": rt.compact,
    "_arrow": rt.Arrow,
}


def _hash(pairs: list[tuple[Any, Any]]) -> Any:
    d: dict[Any, Any] = {}
    for k, v in pairs:
        if k is rt.UNDEFINED:
            for kk, vv in rt.items(v):
                if isinstance(kk, int):
                    d[rt.next_index(d)] = vv
                else:
                    d[kk] = vv
        else:
            d[rt.norm_key(k)] = v
    return rt.compact(d)


def _pre(v: Any) -> rt.Markup:
    if isinstance(v, rt.Markup):
        return v
    return rt.Markup(rt.escape_html(rt.to_str(v)))


def _check(st: rt.State, out: list[str]) -> None:
    st.tick(0)
    rt.output_limit(st, out)


def _match(value: Any, pattern: Any) -> int:
    from .errors import RuntimeError as TwigRuntimeError

    try:
        rx = compile_php_regex(rt.to_str(pattern))
    except Exception as exc:
        msg = str(getattr(exc, "raw_message", exc))
        raise TwigRuntimeError(
            f'Regexp "{rt.to_str(pattern)}" passed to "matches" is not valid: {msg}'
        ) from None
    return 1 if search(rx, rt.to_str(value)) else 0


def _has(value: Any, arrow: Any, every: bool) -> bool:
    fn = rt.check_arrow(arrow, "has every" if every else "has some")
    vals = rt.values(value)
    if every:
        return all(rt.to_bool(fn(v)) for v in vals)
    return any(rt.to_bool(fn(v)) for v in vals)


RUNTIME_NAMESPACE.update(
    {
        "_hash": _hash,
        "_pre": _pre,
        "_chk": _check,
        "_match": _match,
        "_hsome": lambda v, a: _has(v, a, False),
        "_hevery": lambda v, a: _has(v, a, True),
    }
)


def compile_template(
    env: Any, body: list[n.Node], name: str | None
) -> tuple[Callable[..., str], list[int], str]:
    """Generate and compile the render function for a parsed template."""
    c = Compiler(env, name)
    source, linemap = c.compile(body)
    namespace = dict(RUNTIME_NAMESPACE)
    namespace.update(c.namespace)
    filename = f"<twig {name or 'template'} #{id(c):x}>"
    try:
        code = compile(source, filename, "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:  # Python's own limits
        raise TwigSyntaxError(
            f"The template is too complex to compile ({type(exc).__name__}).", 0, name
        ) from None
    exec(code, namespace)  # noqa: S102 - our own generated code, not template text
    return namespace["render"], linemap, filename


# ------------------------------------------------------------ fast paths


def _chain(e: n.Expr) -> list[Any] | None:
    """``name`` or ``a.b.c`` / ``a['b']`` with constant keys -> ['a', 'b', 'c']; else None."""
    keys: list[Any] = []
    while isinstance(e, n.GetAttr):
        if e.kind == "method" or not isinstance(e.attr, n.Const) or e.args is not None:
            return None
        if not isinstance(e.attr.value, (str, int)) or isinstance(e.attr.value, bool):
            return None
        keys.append(e.attr.value)
        e = e.node
    if not isinstance(e, n.Name) or e.name in ("_context", "_self", "loop"):
        return None
    keys.append(e.name)
    keys.reverse()
    return keys


def fast_renderer(env: Any, body: list[n.Node], name: str | None) -> Callable[..., str] | None:
    """A specialised render function for static text or a lone variable/attribute chain."""
    if all(isinstance(x, n.Text) for x in body):
        text = "".join(x.text for x in body if isinstance(x, n.Text))

        def render_static(context: Any = None) -> str:
            return text

        return render_static
    if len(body) != 1 or not isinstance(body[0], n.Print) or env.strict_variables:
        return None
    chain = _chain(body[0].expr)
    if chain is None:
        return None
    globals_ = env.globals
    U = rt.UNDEFINED
    to_str = rt.to_str
    esc = rt.escape_html if env.autoescape else None
    clean = rt._clean
    markup = rt.Markup
    first = chain[0]
    rest = chain[1:]
    lookup = rt.get_attr_lenient

    def slow(v: Any) -> str:
        if v is U:
            return ""
        if esc is None or v.__class__ is markup:
            return to_str(v)
        return esc(to_str(v))

    if not rest:
        if esc is None:

            def render_name(context: Any = None) -> str:
                try:
                    v = context[first]
                except (KeyError, TypeError):
                    v = globals_.get(first, U)
                if v.__class__ is str:
                    return v
                return slow(v)
        else:

            def render_name(context: Any = None) -> str:
                try:
                    v = context[first]
                except (KeyError, TypeError):
                    v = globals_.get(first, U)
                c = v.__class__
                if c is str:
                    if clean(v) is v:
                        return v
                    return esc(v)
                if c is int:
                    return str(v)
                return slow(v)

        return render_name

    if len(rest) == 1:
        second = rest[0]

        def render_attr(context: Any = None) -> str:
            try:
                v = context[first]
            except (KeyError, TypeError):
                v = globals_.get(first, None)
            if v.__class__ is dict:
                try:
                    v = v[second]
                except KeyError:
                    v = lookup(v, second)
            else:
                v = lookup(v, second)
            c = v.__class__
            if c is str:
                if esc is None or clean(v) is v:
                    return v
                return esc(v)
            if c is int:
                return str(v)
            return slow(v)

        return render_attr

    def render_chain(context: Any = None) -> str:
        try:
            v = context[first]
        except (KeyError, TypeError):
            v = globals_.get(first, None)
        for k in rest:
            v = lookup(v, k)
        return slow(v) if v.__class__ is not str or esc is not None else v

    return render_chain
