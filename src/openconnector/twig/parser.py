"""Tokens -> syntax tree, following Twig 3's ``Parser`` and ``ExpressionParser``.

Operator precedence climbing uses Twig's table (see :mod:`.lexer`), with one
deliberate tweak matching Twig >= 3.15: the operand of unary ``-``/``+`` is
parsed at the precedence of ``**`` so that ``-1 ** 0`` is ``-(1 ** 0)``.

Nesting is bounded (``max_depth``): hostile sources such as ``[[[[...]]]]``
hundreds deep raise a Twig ``SyntaxError`` instead of Python's
``RecursionError`` here or in ``compile()``.
"""

from __future__ import annotations

from collections.abc import Callable

from . import nodes as n
from .errors import SyntaxError as TwigSyntaxError
from .lexer import (
    _NAME,
    ARROW,
    BINARY_OPERATORS,
    BLOCK_END,
    BLOCK_START,
    EOF,
    INTERP_END,
    INTERP_START,
    NAME,
    NUMBER,
    OPERATOR,
    PUNCT,
    SPREAD,
    STRING,
    TEXT,
    TYPE_ENGLISH,
    UNARY_OPERATORS,
    VAR_END,
    VAR_START,
    Token,
)

RESERVED = {"true", "false", "none", "null"}
LITERALS = {
    "true": True,
    "TRUE": True,
    "false": False,
    "FALSE": False,
    "none": None,
    "NONE": None,
    "null": None,
    "NULL": None,
}
UNARY_OPERAND_PRECEDENCE = {"not": 50, "-": 200, "+": 200}
MAX_BLOCK_NESTING = 15


def _is_name_like(value: object) -> bool:
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


class Parser:
    """Recursive-descent parser; one instance per template."""

    def __init__(
        self, tokens: list[Token], name: str | None, tests: Callable[[str], int | None], max_depth: int = 50
    ) -> None:
        self.tokens = tokens
        self.i = 0
        self.name = name
        self.tests = tests  # test name -> number of required args (None when unknown)
        self.max_depth = max_depth
        self.depth = 0
        self.block_depth = 0
        self.tag_stack: list[tuple[str, int]] = []

    # ------------------------------------------------------------ stream

    @property
    def cur(self) -> Token:
        return self.tokens[self.i]

    def look(self, k: int = 1) -> Token:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else self.tokens[-1]

    def next(self) -> Token:
        t = self.tokens[self.i]
        if self.i < len(self.tokens) - 1:
            self.i += 1
        return t

    def next_if(self, type_: str, value: object = None) -> Token | None:
        if self.cur.test(type_, value):
            return self.next()
        return None

    def error(self, msg: str, line: int | None = None) -> TwigSyntaxError:
        return TwigSyntaxError(msg, self.cur.line if line is None else line, self.name)

    def expect(self, type_: str, value: object = None, message: str | None = None) -> Token:
        t = self.cur
        if not t.test(type_, value):
            val = f' of value "{t.value}"' if t.value is not None and t.value != "" else ""
            want = f' with value "{value}"' if value is not None else ""
            prefix = f"{message}. " if message else ""
            raise self.error(
                f'{prefix}Unexpected token "{TYPE_ENGLISH[t.type]}"{val} ("{TYPE_ENGLISH[type_]}" expected{want}).'
            )
        return self.next()

    def mk(self, node: n.Expr, *children: n.Expr | None) -> n.Expr:
        d = 1 + max((c.depth for c in children if c is not None), default=0)
        if d > self.max_depth:
            raise self.error(f"Expression nesting exceeds the limit of {self.max_depth} levels.", node.lineno)
        node.depth = d
        return node

    # ------------------------------------------------------------ templates

    def parse(self) -> list[n.Node]:
        body = self.subparse(None)
        return body

    def subparse(self, end: Callable[[Token], bool] | None) -> list[n.Node]:
        out: list[n.Node] = []
        while True:
            t = self.cur
            if t.type == EOF:
                if end is not None:
                    tag, line = self.tag_stack[-1] if self.tag_stack else ("", t.line)
                    raise self.error(
                        f'Unexpected end of template (unclosed "{tag}" tag opened at line {line}).'
                    )
                return out
            if t.type == TEXT:
                self.next()
                out.append(n.Text(t.line, str(t.value)))
            elif t.type == VAR_START:
                self.next()
                expr = self.parse_expression()
                self.expect(VAR_END)
                out.append(n.Print(t.line, expr))
            elif t.type == BLOCK_START:
                self.next()
                tag = self.cur
                if tag.type != NAME:
                    raise self.error("A block must start with a tag name.")
                if end is not None and end(tag):
                    return out
                node = self.parse_tag(tag)
                if node is not None:
                    out.append(node)
            else:
                raise self.error(f'Unexpected token "{TYPE_ENGLISH[t.type]}".')

    def parse_tag(self, tag: Token) -> n.Node | None:
        name = str(tag.value)
        handler = getattr(self, "tag_" + name, None) if name.isidentifier() else None
        if handler is None:
            if (name.startswith("end") or name in ("else", "elseif")) and self.tag_stack:
                open_tag, line = self.tag_stack[-1]
                raise self.error(
                    f'Unexpected "{name}" tag (expecting closing tag for the "{open_tag}" tag defined near line {line}).'
                )
            raise self.error(f'Unknown "{name}" tag.')
        self.next()
        return handler(tag.line)

    def _body(self, tag: str, line: int, ends: tuple[str, ...]) -> list[n.Node]:
        self.block_depth += 1
        if self.block_depth > MAX_BLOCK_NESTING:
            raise self.error(f"Tags are nested deeper than the limit of {MAX_BLOCK_NESTING} levels.", line)
        self.tag_stack.append((tag, line))
        try:
            return self.subparse(lambda t: t.value in ends)
        finally:
            self.tag_stack.pop()
            self.block_depth -= 1

    def tag_if(self, line: int) -> n.Node:
        cond = self.parse_expression()
        self.expect(BLOCK_END)
        branches = [(cond, self._body("if", line, ("elseif", "else", "endif")))]
        otherwise = None
        while True:
            t = self.next()
            if t.value == "elseif":
                c = self.parse_expression()
                self.expect(BLOCK_END)
                branches.append((c, self._body("if", line, ("elseif", "else", "endif"))))
            elif t.value == "else":
                self.expect(BLOCK_END)
                otherwise = self._body("if", line, ("endif",))
                self.next()
                self.expect(BLOCK_END)
                break
            else:
                self.expect(BLOCK_END)
                break
        return n.If(line, branches, otherwise)

    def tag_for(self, line: int) -> n.Node:
        targets = self.parse_assignment_targets()
        self.expect(OPERATOR, "in")
        seq = self.parse_expression()
        self.expect(BLOCK_END)
        body = self._body("for", line, ("else", "endfor"))
        otherwise = None
        if self.next().value == "else":
            self.expect(BLOCK_END)
            otherwise = self._body("for", line, ("endfor",))
            self.next()
        self.expect(BLOCK_END)
        if len(targets) > 2:
            raise self.error("Only two variables can be used in a for loop.", line)
        key, value = (targets[0], targets[1]) if len(targets) == 2 else (None, targets[0])
        return n.For(line, key, value, seq, body, otherwise)

    def tag_set(self, line: int) -> n.Node:
        names = self.parse_assignment_targets()
        if self.next_if(OPERATOR, "="):
            values = [self.parse_expression()]
            while self.next_if(PUNCT, ","):
                values.append(self.parse_expression())
            self.expect(BLOCK_END)
            if len(names) != len(values):
                raise self.error(
                    "When using set, you must have the same number of variables and assignments.", line
                )
            return n.Set(line, names, values)
        if len(names) > 1:
            raise self.error("When using set with a block, you cannot have a multi-target.", line)
        self.expect(BLOCK_END)
        body = self._body("set", line, ("endset",))
        self.next()
        self.expect(BLOCK_END)
        return n.SetCapture(line, names[0], body)

    def tag_with(self, line: int) -> n.Node:
        expr = None
        only = False
        if not self.cur.test(BLOCK_END):
            if not (self.cur.test(NAME, "only") and self.look().test(BLOCK_END)):
                expr = self.parse_expression()
            if self.next_if(NAME, "only"):
                only = True
        self.expect(BLOCK_END)
        body = self._body("with", line, ("endwith",))
        self.next()
        self.expect(BLOCK_END)
        return n.With(line, expr, only, body)

    def tag_do(self, line: int) -> n.Node:
        expr = self.parse_expression()
        self.expect(BLOCK_END)
        return n.Do(line, expr)

    def tag_apply(self, line: int) -> n.Node:
        filters = []
        while True:
            t = self.expect(NAME)
            args = self.parse_arguments() if self.cur.test(PUNCT, "(") else []
            filters.append((str(t.value), args, t.line))
            if not self.next_if(PUNCT, "|"):
                break
        self.expect(BLOCK_END)
        body = self._body("apply", line, ("endapply",))
        self.next()
        self.expect(BLOCK_END)
        return n.Apply(line, filters, body)

    def parse_assignment_targets(self) -> list[str]:
        names = []
        while True:
            t = self.cur
            if t.type == NAME or (t.type == OPERATOR and _is_name_like(t.value)):
                self.next()
            else:
                val = f' of value "{t.value}"' if t.value is not None else ""
                raise self.error(
                    f'Only variables can be assigned to. Unexpected token "{TYPE_ENGLISH[t.type]}"{val} '
                    f'("name" expected).'
                )
            name = str(t.value)
            if name.lower() in RESERVED:
                raise self.error(f'You cannot assign a value to "{name}".', t.line)
            names.append(name)
            if not self.next_if(PUNCT, ","):
                return names

    # ---------------------------------------------------------- expressions

    def parse_expression(self, precedence: int = 0, allow_arrow: bool = False) -> n.Expr:
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                raise self.error(f"Expression nesting exceeds the limit of {self.max_depth} levels.")
            if allow_arrow:
                arrow = self.parse_arrow()
                if arrow is not None:
                    return arrow
            expr = self.get_primary()
            t = self.cur
            while (
                t.type == OPERATOR
                and t.value in BINARY_OPERATORS
                and BINARY_OPERATORS[t.value][0] >= precedence
            ):
                op = str(t.value)
                prec, assoc = BINARY_OPERATORS[op]
                self.next()
                if op == "is not":
                    test = self.parse_test(expr, t.line)
                    expr = self.mk(n.Unary(t.line, "not", test), test)
                elif op == "is":
                    expr = self.parse_test(expr, t.line)
                else:
                    right = self.parse_expression(prec + 1 if assoc == "left" else prec)
                    expr = self.mk(n.Binary(t.line, op, expr, right), expr, right)
                t = self.cur
            if precedence == 0:
                expr = self.parse_conditional(expr)
            return expr
        finally:
            self.depth -= 1

    def parse_conditional(self, expr: n.Expr) -> n.Expr:
        while True:
            t = self.next_if(PUNCT, "?")
            if t is None:
                return expr
            if self.next_if(PUNCT, ":"):
                then: n.Expr = expr
                other = self.parse_expression()
            else:
                then = self.parse_expression()
                if self.next_if(PUNCT, ":"):
                    other = self.parse_expression()
                else:
                    other = n.Const(t.line, "")
            expr = self.mk(n.Cond(t.line, expr, then, other), expr, then, other)

    def parse_arrow(self) -> n.Expr | None:
        t = self.cur
        line = t.line
        if t.type == NAME and self.look().type == ARROW:
            self.next()
            self.next()
            params = [str(t.value)]
        elif t.test(PUNCT, "("):
            j = 1
            params = []
            while True:
                tk = self.look(j)
                if tk.type == NAME:
                    params.append(str(tk.value))
                    j += 1
                    if self.look(j).test(PUNCT, ","):
                        j += 1
                        continue
                if self.look(j).test(PUNCT, ")") and self.look(j + 1).type == ARROW:
                    break
                return None
            self.i += j + 2
        else:
            return None
        for p in params:
            if p.lower() in RESERVED:
                raise self.error(f'You cannot assign a value to "{p}".', line)
        body = self.parse_expression()
        return self.mk(n.ArrowFn(line, params, body), body)

    def get_primary(self) -> n.Expr:
        t = self.cur
        if t.type == OPERATOR and t.value in UNARY_OPERATORS:
            self.next()
            operand = self.parse_expression(UNARY_OPERAND_PRECEDENCE[str(t.value)])
            return self.parse_postfix(self.mk(n.Unary(t.line, str(t.value), operand), operand))
        if t.test(PUNCT, "("):
            self.next()
            expr = self.parse_expression()
            self.expect(PUNCT, ")", "An opened parenthesis is not properly closed")
            return self.parse_postfix(expr)
        return self.parse_primary()

    def parse_primary(self) -> n.Expr:
        t = self.cur
        node: n.Expr
        if t.type == NAME:
            self.next()
            name = str(t.value)
            if name in LITERALS:
                node = n.Const(t.line, LITERALS[name])
            elif self.cur.test(PUNCT, "("):
                args = self.parse_arguments()
                self.check_named(args, "function", name)
                node = self.mk(n.Func(t.line, name, args), *[a.value for a in args])
            else:
                node = n.Name(t.line, name)
        elif t.type == NUMBER:
            self.next()
            node = n.Const(t.line, t.value)
        elif t.type in (STRING, INTERP_START):
            node = self.parse_string()
        elif t.type == OPERATOR:
            if _is_name_like(t.value):
                self.next()
                node = n.Name(t.line, str(t.value))
            elif t.value == "=" and self.i > 0 and self.tokens[self.i - 1].test(OPERATOR, ("==", "!=")):
                raise self.error(
                    'Unexpected operator of value "=". Did you try to use "===" or "!==" for strict comparison? '
                    'Use "is same as(value)" instead.'
                )
            else:
                raise self.error(f'Unexpected token "operator" of value "{t.value}".')
        elif t.test(PUNCT, "["):
            node = self.parse_array()
        elif t.test(PUNCT, "{"):
            node = self.parse_hash()
        else:
            val = f' of value "{t.value}"' if t.value is not None else ""
            raise self.error(f'Unexpected token "{TYPE_ENGLISH[t.type]}"{val}.')
        return self.parse_postfix(node)

    def parse_string(self) -> n.Expr:
        parts: list[n.Expr] = []
        line = self.cur.line
        can_be_string = True
        while True:
            if can_be_string and self.cur.type == STRING:
                t = self.next()
                parts.append(n.Const(t.line, t.value))
                can_be_string = False
            elif self.next_if(INTERP_START):
                e = self.parse_expression()
                self.expect(INTERP_END)
                parts.append(e)
                can_be_string = True
            else:
                break
        if not parts:
            return n.Const(line, "")
        expr = parts[0]
        if len(parts) == 1 and isinstance(expr, n.Const):
            return expr
        if isinstance(expr, n.Const) is False or len(parts) > 1:
            if not isinstance(parts[0], n.Const):
                expr = self.mk(n.Binary(line, "~", n.Const(line, ""), parts[0]), parts[0])
            for p in parts[1:]:
                expr = self.mk(n.Binary(line, "~", expr, p), expr, p)
        return expr

    def parse_array(self) -> n.Expr:
        t = self.expect(PUNCT, "[", "An array element was expected")
        elements: list[tuple[n.Expr, bool]] = []
        first = True
        while not self.cur.test(PUNCT, "]"):
            if not first:
                self.expect(PUNCT, ",", "An array element must be followed by a comma")
                if self.cur.test(PUNCT, "]"):
                    break
            first = False
            if self.next_if(SPREAD):
                elements.append((self.parse_expression(), True))
            else:
                elements.append((self.parse_expression(), False))
        self.expect(PUNCT, "]", "An opened array is not properly closed")
        return self.mk(n.ArrayLit(t.line, elements), *[e for e, _ in elements])

    def parse_hash(self) -> n.Expr:
        t = self.expect(PUNCT, "{", "A hash element was expected")
        pairs: list[tuple[n.Expr | None, n.Expr]] = []
        first = True
        while not self.cur.test(PUNCT, "}"):
            if not first:
                self.expect(PUNCT, ",", "A hash value must be followed by a comma")
                if self.cur.test(PUNCT, "}"):
                    break
            first = False
            if self.next_if(SPREAD):
                pairs.append((None, self.parse_expression()))
                continue
            k = self.cur
            key: n.Expr
            if k.type in (STRING, INTERP_START):
                key = self.parse_string()
            elif k.type in (NAME, NUMBER) or (k.type == OPERATOR and _is_name_like(k.value)):
                self.next()
                key = n.Const(k.line, k.value)
                if k.type in (NAME, OPERATOR) and not self.cur.test(PUNCT, ":"):
                    pairs.append((key, n.Name(k.line, str(k.value))))
                    continue
            elif k.test(PUNCT, "("):
                key = self.parse_expression()
            else:
                raise self.error(
                    "A hash key must be a quoted string, a number, a name, or an expression enclosed in "
                    f'parentheses (unexpected token "{TYPE_ENGLISH[k.type]}" of value "{k.value}".'
                )
            self.expect(PUNCT, ":", "A hash key must be followed by a colon (:)")
            pairs.append((key, self.parse_expression()))
        self.expect(PUNCT, "}", "An opened hash is not properly closed")
        children = [x for kv in pairs for x in kv if x is not None]
        return self.mk(n.HashLit(t.line, pairs), *children)

    def parse_postfix(self, node: n.Expr) -> n.Expr:
        while True:
            t = self.cur
            if t.type != PUNCT:
                return node
            if t.value == ".":
                node = self.parse_dot(node)
            elif t.value == "[":
                node = self.parse_subscript(node)
            elif t.value == "|":
                node = self.parse_filter(node)
            else:
                return node

    def parse_dot(self, node: n.Expr) -> n.Expr:
        dot = self.next()
        t = self.cur
        attr: n.Expr
        if t.type == NAME or t.type == NUMBER or (t.type == OPERATOR and _is_name_like(t.value)):
            self.next()
            attr = n.Const(t.line, t.value)
        elif t.test(PUNCT, "("):
            self.next()
            attr = self.parse_expression()
            self.expect(PUNCT, ")")
        else:
            raise self.error(
                f'Expected name or number, got value "{t.value}" of type {TYPE_ENGLISH[t.type]}.', dot.line
            )
        if self.cur.test(PUNCT, "(") and t.type != PUNCT:
            args = self.parse_arguments()
            return self.mk(
                n.GetAttr(dot.line, node, attr, args, "method"), node, attr, *[a.value for a in args]
            )
        return self.mk(n.GetAttr(dot.line, node, attr, None, "any"), node, attr)

    def parse_subscript(self, node: n.Expr) -> n.Expr:
        t = self.next()
        is_slice = False
        if self.cur.test(PUNCT, ":"):
            is_slice = True
            start: n.Expr = n.Const(t.line, 0)
        else:
            start = self.parse_expression()
        if self.next_if(PUNCT, ":"):
            is_slice = True
        if is_slice:
            length: n.Expr = n.Const(t.line, None) if self.cur.test(PUNCT, "]") else self.parse_expression()
            self.expect(PUNCT, "]")
            args = [n.Arg(None, start), n.Arg(None, length)]
            return self.mk(n.Filter(t.line, node, "slice", args), node, start, length)
        self.expect(PUNCT, "]")
        return self.mk(n.GetAttr(t.line, node, start, None, "array"), node, start)

    def parse_filter(self, node: n.Expr) -> n.Expr:
        self.next()
        t = self.expect(NAME)
        name = str(t.value)
        args = self.parse_arguments() if self.cur.test(PUNCT, "(") else []
        self.check_named(args, "filter", name)
        return self.mk(n.Filter(t.line, node, name, args), node, *[a.value for a in args])

    def parse_test(self, node: n.Expr, line: int) -> n.Expr:
        t = self.expect(NAME)
        name = str(t.value)
        required = self.tests(name)
        if required is None and self.cur.type == NAME:
            two = f"{name} {self.cur.value}"
            r2 = self.tests(two)
            if r2 is not None:
                self.next()
                name, required = two, r2
        if required is None:
            raise self.error(f'Unknown "{name}" test.', t.line)
        args: list[n.Arg] = []
        if self.cur.test(PUNCT, "("):
            args = self.parse_arguments()
        elif required == 1:
            args = [n.Arg(None, self.parse_primary())]
        if name == "defined" and not isinstance(node, (n.Name, n.GetAttr, n.Const, n.ArrayLit, n.HashLit)):
            raise self.error('The "defined" test only works with simple variables.', line)
        return self.mk(n.Test(line, node, name, args), node, *[a.value for a in args])

    def parse_arguments(self) -> list[n.Arg]:
        self.expect(PUNCT, "(", "A list of arguments must begin with an opening parenthesis")
        args: list[n.Arg] = []
        spread = False
        while not self.cur.test(PUNCT, ")"):
            if args:
                self.expect(PUNCT, ",", "Arguments must be separated by a comma")
                if self.cur.test(PUNCT, ")"):
                    break
            if self.next_if(SPREAD):
                spread = True
                args.append(n.Arg(None, self.parse_expression(0, True), True))
                continue
            if spread:
                raise self.error("Normal arguments must be placed before argument unpacking.")
            value = self.parse_expression(0, True)
            name = None
            if self.next_if(OPERATOR, "=") or self.next_if(PUNCT, ":"):
                if not isinstance(value, n.Name):
                    raise self.error(f'A parameter name must be a string, "{type(value).__name__}" given.')
                name = value.name
                value = self.parse_expression(0, True)
            args.append(n.Arg(name, value))
        self.expect(PUNCT, ")", "A list of arguments must be closed by a parenthesis")
        return args

    def check_named(self, args: list[n.Arg], kind: str, name: str) -> None:
        named = False
        for a in args:
            if a.name is not None:
                named = True
            elif named and not a.spread:
                raise self.error(
                    f'Positional arguments cannot be used after named arguments for {kind} "{name}".'
                )


def parse(
    tokens: list[Token], name: str | None, tests: Callable[[str], int | None], max_depth: int = 50
) -> list[n.Node]:
    return Parser(tokens, name, tests, max_depth).parse()


__all__ = ["Parser", "parse", "BLOCK_START", "INTERP_END"]
