"""PHP value semantics used by compiled templates.

Templates written for PHP Twig rely on PHP's rules: ``"0"`` is false, ``true``
prints as ``1``, ``"10" == "1e1"``, arrays are ordered hashes whose decimal
string keys are integers. Data arrives as Python ``dict``/``list`` (decoded
JSON), so this module treats a ``list`` as the PHP array with keys ``0..n-1``
and a ``dict`` as any other PHP array, and implements conversion, comparison,
arithmetic and attribute access on top of that without copying the input.

Attribute access never touches Python attributes: only dict keys, list
indexes and a short allow-list of date methods are reachable (the sandbox).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .errors import Error
from .errors import RuntimeError as TwigRuntimeError

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1


class _Undefined:
    """Sentinel for "no such variable/key" (distinct from PHP null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()


class Markup(str):
    """A string already safe for HTML output (Twig's ``Markup``); never escaped again."""

    __slots__ = ()


class Arrow:
    """A compiled arrow function; the only kind of value filters accept as a callback.

    Strings such as ``'system'`` are never looked up as callables, which closes
    the classic ``map('system')`` / ``filter('exec')`` injections.
    """

    __slots__ = ("fn", "state")

    def __init__(self, state: State, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.state = state

    def __call__(self, *args: Any) -> Any:
        self.state.tick()
        return self.fn(*args)


#: This thread's render deadline: ``at`` (a ``time.monotonic()`` value, 0 for none) and
#: ``message``. A caller that renders many templates for one piece of work (a mapping,
#: per record) sets both around them and puts ``at`` back to 0 afterwards; renders
#: stop with ``message`` once ``at`` has passed. The check rides on the loop and
#: callback counting renders already do, so a template that loops for long is
#: stopped within about a thousand iterations of its deadline.
deadline = threading.local()


@contextmanager
def time_limit(seconds: float, message: str) -> Iterator[None]:
    """Renders on this thread inside the block stop with ``message`` after ``seconds``."""
    previous = getattr(deadline, "at", 0.0), getattr(deadline, "message", "")
    deadline.at, deadline.message = time.monotonic() + seconds, message
    try:
        yield
    finally:
        deadline.at, deadline.message = previous


class State:
    """Per-render bookkeeping: limits shared by loops, ranges and arrow calls."""

    __slots__ = (
        "env",
        "ticks",
        "max_ticks",
        "max_range",
        "max_output",
        "out_list",
        "out_pos",
        "out_len",
        "deadline",
    )

    def __init__(self, env: Any) -> None:
        self.env = env
        self.ticks = 0
        self.max_ticks = env.max_iterations
        self.max_range = env.max_range
        self.max_output = env.max_output
        self.out_list: list[str] | None = None
        self.out_pos = 0
        self.out_len = 0
        self.deadline = getattr(deadline, "at", 0.0)

    def tick(self, n: int = 1) -> None:
        self.ticks += n
        if self.ticks > self.max_ticks:
            raise TwigRuntimeError(
                f"The template exceeded the limit of {self.max_ticks} loop iterations/callback calls."
            )
        if self.deadline and time.monotonic() > self.deadline:
            raise TwigRuntimeError(getattr(deadline, "message", "") or "The render exceeded its time limit.")

    def check_size(self, n: int, what: str = "output") -> None:
        if n > self.max_output:
            raise TwigRuntimeError(f"The {what} exceeded the limit of {self.max_output} characters.")

    def check_count(self, n: int, what: str = "sequence") -> None:
        if n > self.max_range:
            raise TwigRuntimeError(f"A {what} of {n} elements exceeds the limit of {self.max_range}.")
        self.tick(n)


def twig_error(message: str) -> TwigRuntimeError:
    return TwigRuntimeError(message)


# ---------------------------------------------------------------- conversion

_NUMERIC = re.compile(r"[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*\Z")
_LEADING = re.compile(r"[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INT_KEY = re.compile(r"(0|-?[1-9][0-9]*)\Z")


def php_float_str(f: float) -> str:
    """Print a float like PHP 8 (``precision=14``): ``1990``, ``-0.125``, ``1.0E+20``."""
    if f != f:
        return "NAN"
    if f in (math.inf, -math.inf):
        return "INF" if f > 0 else "-INF"
    s = f"{f:.14G}"
    if "E" in s:
        mant, exp = s.split("E")
        if "." not in mant:
            mant += ".0"
        e = int(exp)
        return f"{mant}E{'+' if e >= 0 else '-'}{abs(e)}"
    if s == "-0":
        return "-0"
    return s


def to_str(v: Any) -> str:
    """PHP string conversion (``true`` -> ``"1"``, ``null``/``false`` -> ``""``)."""
    c = v.__class__
    if c is str or c is Markup:
        return v
    if c is int:
        return str(v)
    if v is None or v is False or v is UNDEFINED:
        return ""
    if v is True:
        return "1"
    if c is float:
        return php_float_str(v)
    if c is list or c is dict:
        return "Array"
    if isinstance(v, str):
        return str(v)
    from .dates import TwigDate

    if isinstance(v, TwigDate):
        return v.format("Y-m-d H:i:s")
    if isinstance(v, Arrow):
        return ""
    if isinstance(v, bool):
        return "1" if v else ""
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return php_float_str(float(v))
    if isinstance(v, (list, tuple, dict)):
        return "Array"
    return _object_str(v)


def _object_str(v: Any) -> str:
    """Only value-like Python objects print; anything else would leak a repr (PHP refuses too)."""
    import datetime as _dt
    import decimal
    import uuid

    if isinstance(v, _dt.datetime | _dt.date):
        return v.isoformat(sep=" ") if isinstance(v, _dt.datetime) else v.isoformat()
    if isinstance(v, decimal.Decimal | uuid.UUID):
        return str(v)
    raise TwigRuntimeError(f'Object of class "{type(v).__name__}" could not be converted to string.')


def to_bool(v: Any) -> bool:
    """PHP truthiness: like Python's, except that the string ``"0"`` is false."""
    if v.__class__ is str:
        return v != "" and v != "0"
    return bool(v) and v != "0"


def parse_numeric(s: str) -> int | float | None:
    """Value of a PHP numeric string, or ``None`` when the string is not numeric."""
    if not _NUMERIC.match(s):
        return None
    s = s.strip(" \t\n\r\v\f")
    if "." in s or "e" in s or "E" in s:
        return float(s)
    n = int(s)
    return n if INT_MIN <= n <= INT_MAX else float(n)


def to_num(v: Any, op: str = "+") -> int | float:
    """Number for arithmetic, following PHP 8 (numeric strings, leading-numeric strings)."""
    c = v.__class__
    if c is int or c is float:
        return v
    if v is None or v is False or v is UNDEFINED:
        return 0
    if v is True:
        return 1
    if isinstance(v, str):
        n = parse_numeric(v)
        if n is not None:
            return n
        m = _LEADING.match(v)
        if m:
            s = m.group(0).strip()
            return float(s) if ("." in s or "e" in s or "E" in s) else int(s)
        raise TwigRuntimeError(f"Unsupported operand types: string {op} {'string'}.")
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return v
    raise TwigRuntimeError(f"Unsupported operand types: {type_name(v)} {op} {type_name(v)}.")


def to_int(v: Any) -> int:
    n = to_num_loose(v)
    if isinstance(n, float):
        if n != n or n in (math.inf, -math.inf):
            return 0
        return int(n)
    return n


def to_float(v: Any) -> float:
    return float(to_num_loose(v))


def to_num_loose(v: Any) -> int | float:
    """Like ``(int)``/``(float)`` casts: never fails, non-numeric strings give 0."""
    try:
        return to_num(v)
    except TwigRuntimeError:
        return 0


def type_name(v: Any) -> str:
    if v is None or v is UNDEFINED:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, dict)):
        return "array"
    return "object"


def norm_key(k: Any) -> int | str:
    """PHP array key cast: ``"12"`` -> ``12``, ``true`` -> ``1``, ``1.7`` -> ``1``, null -> ``""``."""
    c = k.__class__
    if c is int:
        return k
    if c is str:
        if _INT_KEY.match(k):
            n = int(k)
            if INT_MIN <= n <= INT_MAX:
                return n
        return k
    if k is None or k is UNDEFINED:
        return ""
    if isinstance(k, bool):
        return int(k)
    if isinstance(k, float):
        return int(k) if k == k and abs(k) < 2**63 else 0
    if isinstance(k, str):
        return norm_key(str(k))
    if isinstance(k, int):
        return int(k)
    raise TwigRuntimeError("Illegal offset type.")


# ------------------------------------------------------------------- arrays


def is_array(v: Any) -> bool:
    return v.__class__ is list or v.__class__ is dict or isinstance(v, (list, dict, tuple))


def items(v: Any) -> list[tuple[Any, Any]]:
    """(key, value) pairs of an iterable value; non-iterables give no pairs (like Twig's ``for``)."""
    c = v.__class__
    if c is list or c is tuple:
        return list(enumerate(v))
    if c is dict:
        return [(norm_key(k), x) for k, x in v.items()]
    if isinstance(v, (list, tuple)):
        return list(enumerate(v))
    if isinstance(v, dict):
        return [(norm_key(k), x) for k, x in v.items()]
    return []


def values(v: Any) -> list[Any]:
    c = v.__class__
    if c is list:
        return v
    if c is dict:
        return list(v.values())
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, dict):
        return list(v.values())
    return []


def make_array(pairs: Iterable[tuple[Any, Any]]) -> list[Any] | dict[Any, Any]:
    """Build an array from (key, value) pairs: a list when keys are 0..n-1 in order."""
    d: dict[Any, Any] = {}
    for k, v in pairs:
        d[norm_key(k)] = v
    return compact(d)


def renumber(pairs: Iterable[tuple[Any, Any]]) -> list[Any] | dict[Any, Any]:
    """An array from (key, value) pairs whose integer keys are renumbered 0, 1, ... and whose
    string keys are kept: what PHP's array functions do without ``preserve_keys``."""
    out: dict[Any, Any] = {}
    n = 0
    for k, v in pairs:
        if isinstance(k, int):
            out[n] = v
            n += 1
        else:
            out[k] = v
    return compact(out)


def compact(d: dict[Any, Any]) -> list[Any] | dict[Any, Any]:
    for i, k in enumerate(d):
        if k != i or k.__class__ is not int:
            return d
    return list(d.values())


def is_list(v: Any) -> bool:
    """PHP's ``array_is_list``."""
    if isinstance(v, (list, tuple)):
        return True
    if isinstance(v, dict):
        return all(norm_key(k) == i for i, k in enumerate(v))
    return False


def next_index(d: dict[Any, Any]) -> int:
    ints = [k for k in (norm_key(x) for x in d) if isinstance(k, int)]
    return max(max(ints) + 1, 0) if ints else 0


def as_dict(v: Any) -> dict[Any, Any]:
    if isinstance(v, dict):
        return {norm_key(k): x for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return dict(enumerate(v))
    return {}


def count(v: Any) -> int:
    if isinstance(v, (list, dict, tuple)):
        return len(v)
    return 1 if v is not None else 0


# ---------------------------------------------------------------- comparison


def _is_num(v: Any) -> bool:
    return (v.__class__ is int or v.__class__ is float) or (
        isinstance(v, (int, float)) and not isinstance(v, bool)
    )


def _cmp_scalar(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def loose_eq(a: Any, b: Any) -> bool:
    """PHP 8 ``==``."""
    ca, cb = a.__class__, b.__class__
    if ca is cb and (ca is str or ca is int):
        if ca is int:
            return a == b
        if a == b:
            return True
        na = parse_numeric(a)
        if na is None:
            return False
        nb = parse_numeric(b)
        return nb is not None and na == nb
    return compare(a, b) == 0


def compare(a: Any, b: Any) -> int:
    """PHP 8 ``<=>``; incomparable arrays report 1 (like PHP)."""
    if a is UNDEFINED:
        a = None
    if b is UNDEFINED:
        b = None
    if isinstance(a, bool) or isinstance(b, bool):
        return _cmp_scalar(to_bool(a), to_bool(b))
    if a is None and b is None:
        return 0
    if a is None:
        if isinstance(b, str):
            return _cmp_scalar("", b)
        return _cmp_scalar(False, to_bool(b))
    if b is None:
        if isinstance(a, str):
            return _cmp_scalar(a, "")
        return _cmp_scalar(to_bool(a), False)
    an, bn = _is_num(a), _is_num(b)
    if an and bn:
        return _cmp_scalar(a, b)
    a_s, b_s = isinstance(a, str), isinstance(b, str)
    if an and b_s:
        n = parse_numeric(b)
        if n is not None:
            return _cmp_scalar(a, n)
        return _cmp_scalar(to_str(a), b)
    if a_s and bn:
        n = parse_numeric(a)
        if n is not None:
            return _cmp_scalar(n, b)
        return _cmp_scalar(a, to_str(b))
    if a_s and b_s:
        na = parse_numeric(a)
        if na is not None:
            nb = parse_numeric(b)
            if nb is not None:
                return _cmp_scalar(na, nb)
        return _cmp_scalar(a, b)
    a_arr, b_arr = is_array(a), is_array(b)
    if a_arr and b_arr:
        da, db = as_dict(a), as_dict(b)
        if len(da) != len(db):
            return _cmp_scalar(len(da), len(db))
        for k, v in da.items():
            if k not in db:
                return 1
            c = compare(v, db[k])
            if c:
                return c
        return 0
    if a_arr:
        return 1
    if b_arr:
        return -1
    from .dates import TwigDate

    if isinstance(a, TwigDate) and isinstance(b, TwigDate):
        return _cmp_scalar(a.sort_key(), b.sort_key())
    if isinstance(a, TwigDate) or isinstance(b, TwigDate):
        return 1 if isinstance(a, TwigDate) else -1
    try:
        return _cmp_scalar(a, b)
    except TypeError:
        return 1


def same(a: Any, b: Any) -> bool:
    """PHP ``===``."""
    if a is UNDEFINED:
        a = None
    if b is UNDEFINED:
        b = None
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) and isinstance(b, str):
        return str(a) == str(b)
    if _is_num(a) and _is_num(b):
        return type(a) is type(b) and a == b
    if is_array(a) and is_array(b):
        ia, ib = items(a), items(b)
        return len(ia) == len(ib) and all(
            ka == kb and type(ka) is type(kb) and same(va, vb)
            for (ka, va), (kb, vb) in zip(ia, ib, strict=True)
        )
    return a is b


def contains(value: Any, haystack: Any) -> bool:
    """Twig's ``in`` operator (``CoreExtension::inFilter``)."""
    if isinstance(haystack, str):
        if isinstance(value, str) or (_is_num(value)):
            v = to_str(value)
            return v == "" or v in haystack
        return False
    if is_array(haystack):
        return any(loose_eq(value, x) for x in values(haystack))
    return False


# ---------------------------------------------------------------- arithmetic


def _fix_int(n: int) -> int | float:
    if INT_MIN <= n <= INT_MAX:
        return n
    return float(n)


def add(a: Any, b: Any) -> Any:
    if a.__class__ is int and b.__class__ is int:
        return _fix_int(a + b)
    if is_array(a) and is_array(b):
        d = as_dict(a)
        for k, v in as_dict(b).items():
            d.setdefault(k, v)
        return compact(d)
    x, y = to_num(a, "+"), to_num(b, "+")
    r = x + y
    return _fix_int(r) if isinstance(r, int) else r


def sub(a: Any, b: Any) -> Any:
    x, y = to_num(a, "-"), to_num(b, "-")
    r = x - y
    return _fix_int(r) if isinstance(r, int) else r


def mul(a: Any, b: Any) -> Any:
    x, y = to_num(a, "*"), to_num(b, "*")
    r = x * y
    return _fix_int(r) if isinstance(r, int) else r


def div(a: Any, b: Any) -> Any:
    x, y = to_num(a, "/"), to_num(b, "/")
    if y == 0:
        raise TwigRuntimeError("Division by zero.")
    if isinstance(x, int) and isinstance(y, int) and x % y == 0:
        return _fix_int(x // y)
    return x / y


def floordiv(a: Any, b: Any) -> Any:
    x, y = to_num(a, "//"), to_num(b, "//")
    if y == 0:
        raise TwigRuntimeError("Division by zero.")
    r = math.floor(x / y) if not (isinstance(x, int) and isinstance(y, int)) else x // y
    return _fix_int(int(r))


def mod(a: Any, b: Any) -> Any:
    x, y = to_int(a), to_int(b)
    if y == 0:
        raise TwigRuntimeError("Modulo by zero.")
    r = abs(x) % abs(y)
    return -r if x < 0 else r


def power(a: Any, b: Any) -> Any:
    x, y = to_num(a, "**"), to_num(b, "**")
    if isinstance(x, int) and isinstance(y, int) and y >= 0:
        if abs(x) <= 1 or y * max(abs(x).bit_length(), 1) <= 64:
            return _fix_int(x**y)
        try:
            return float(x) ** y
        except OverflowError:
            return math.inf if x > 0 or y % 2 == 0 else -math.inf
    try:
        r = float(x) ** float(y)
    except ZeroDivisionError:
        return math.inf
    except OverflowError:
        return math.inf
    if isinstance(r, complex):
        return math.nan
    return r


def neg(a: Any) -> Any:
    x = to_num(a, "*")
    return _fix_int(-x) if isinstance(x, int) else -x


def pos(a: Any) -> Any:
    return to_num(a, "*")


def b_and(a: Any, b: Any) -> int:
    return to_int(a) & to_int(b)


def b_or(a: Any, b: Any) -> int:
    return to_int(a) | to_int(b)


def b_xor(a: Any, b: Any) -> int:
    return to_int(a) ^ to_int(b)


def spaceship(a: Any, b: Any) -> int:
    return compare(a, b)


def concat(st: State, *parts: Any) -> str:
    s = "".join([to_str(p) for p in parts])
    if len(s) > st.max_output:
        st.check_size(len(s), "string")
    return s


def starts_with(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.startswith(b)


def ends_with(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.endswith(b)


def make_range(st: State, low: Any, high: Any, step: Any = 1) -> list[Any]:
    """PHP ``range()`` for numbers and single characters, bounded by ``max_range``."""
    if (
        isinstance(low, str)
        and isinstance(high, str)
        and len(low) >= 1
        and len(high) >= 1
        and (parse_numeric(low) is None or parse_numeric(high) is None)
    ):
        a, b = ord(low[0]), ord(high[0])
        s = abs(to_int(step)) or 1
        if a <= b:
            return [chr(c) for c in range(a, b + 1, s)]
        return [chr(c) for c in range(a, b - 1, -s)]
    lo, hi, sp = to_num_loose(low), to_num_loose(high), to_num_loose(step)
    if sp == 0:
        raise TwigRuntimeError("range(): Argument #3 ($step) cannot be 0.")
    sp = abs(sp)
    if isinstance(lo, float) or isinstance(hi, float) or isinstance(sp, float):
        if any(math.isinf(x) or math.isnan(x) for x in (float(lo), float(hi), float(sp))):
            raise TwigRuntimeError("range(): Argument must be a finite number.")
        n = int(abs(hi - lo) / sp) + 1
        st.check_count(n, "range")
        if lo <= hi:
            return [float(lo + i * sp) for i in range(n)]
        return [float(lo - i * sp) for i in range(n)]
    n = abs(hi - lo) // sp + 1
    st.check_count(n, "range")
    if lo <= hi:
        return list(range(lo, hi + 1, sp))
    return list(range(lo, hi - 1, -sp))


# -------------------------------------------------------------- attributes


def _lookup(obj: Any, key: Any) -> Any:
    """Item of a dict/list by PHP key rules, or ``UNDEFINED``."""
    c = obj.__class__
    if c is dict or (c is not list and isinstance(obj, dict)):
        try:
            return obj[key]
        except KeyError:
            pass
        except TypeError:
            return UNDEFINED
        kc = key.__class__
        if kc is int:
            return obj.get(str(key), UNDEFINED)
        if kc is str:
            if _INT_KEY.match(key):
                return obj.get(int(key), UNDEFINED)
            return UNDEFINED
        try:
            k = norm_key(key)
        except Error:
            return UNDEFINED
        if k is key:
            return UNDEFINED
        return _lookup(obj, k)
    if c is list or isinstance(obj, (list, tuple)):
        if key.__class__ is not int:
            try:
                key = norm_key(key)
            except Error:
                return UNDEFINED
            if key.__class__ is not int:
                return UNDEFINED
        if 0 <= key < len(obj):
            return obj[key]
        return UNDEFINED
    return UNDEFINED


def _date_attr(obj: Any, name: Any, args: tuple[Any, ...] | None) -> Any:
    from .dates import TwigDate

    if not isinstance(obj, TwigDate):
        return UNDEFINED
    return obj.call(str(name), list(args or ()))


def get_attr_soft(obj: Any, key: Any, args: tuple[Any, ...] | None = None, method: bool = False) -> Any:
    """Attribute/key lookup that returns ``UNDEFINED`` instead of failing (``??``, ``default``, ``defined``)."""
    if obj is UNDEFINED or obj is None:
        return UNDEFINED
    if not method:
        r = _lookup(obj, key)
        if r is not UNDEFINED or isinstance(obj, (list, dict)):
            return r
    return _date_attr(obj, key, args)


def get_attr_lenient(obj: Any, key: Any, args: tuple[Any, ...] | None = None, method: bool = False) -> Any:
    """Lookup for ``strict_variables=False``: anything missing is ``null``."""
    if not method and obj.__class__ is dict:
        try:
            return obj[key]
        except (KeyError, TypeError):
            pass
    r = get_attr_soft(obj, key, args, method)
    return None if r is UNDEFINED else r


def _repr_value(v: Any) -> str:
    return to_str(v)


def get_attr_strict(
    obj: Any, key: Any, args: tuple[Any, ...] | None = None, method: bool = False, array_call: bool = False
) -> Any:
    """Lookup for ``strict_variables=True``: a missing key raises Twig's message."""
    if not method and obj.__class__ is dict:
        try:
            return obj[key]
        except (KeyError, TypeError):
            pass
    r = get_attr_soft(obj, key, args, method)
    if r is not UNDEFINED:
        return r
    k = to_str(key) if not isinstance(key, (list, dict)) else "Array"
    if obj is None or obj is UNDEFINED:
        what = "a key" if array_call else ("a method" if method else "an attribute")
        verb = "invoke" if method else "access"
        raise TwigRuntimeError(f'Impossible to {verb} {what} ("{k}") on a null variable.')
    if is_array(obj):
        if method:
            raise TwigRuntimeError(f'Impossible to invoke a method ("{k}") on a sequence/mapping.')
        if not len(obj):
            raise TwigRuntimeError(f'Key "{k}" does not exist as the sequence/mapping is empty.')
        keys = ", ".join(to_str(x) for x, _ in items(obj))
        raise TwigRuntimeError(f'Key "{k}" for sequence/mapping with keys "{keys}" does not exist.')
    tn = type_name(obj)
    what = "a key" if array_call else ("a method" if method else "an attribute")
    verb = "invoke" if method else "access"
    if tn in ("string", "int", "float", "bool"):
        return _raise(f'Impossible to {verb} {what} ("{k}") on a {tn} variable ("{to_str(obj)}").')
    return _raise(
        f'Neither the property "{k}" nor one of the methods "{k}()", "get{k}()"/"is{k}()"/"has{k}()" '
        f'exist and have public access in class "{obj.__class__.__name__}".'
    )


def _raise(msg: str) -> Any:
    raise TwigRuntimeError(msg)


def undefined_variable(name: str, lineno: int) -> Any:
    raise TwigRuntimeError(f'Variable "{name}" does not exist.', lineno)


# ------------------------------------------------------------------ output

_ESCAPE_NEEDED = re.compile(r"[&<>\"']").search


def _clean_fallback(s: str) -> str | None:
    return s if _ESCAPE_NEEDED(s) is None else None


try:  # MarkupSafe's C helper returns its argument unchanged when there is nothing to escape: a
    # 25 ns check instead of 170 ns for the regex. Only used as a detector (its entities differ from PHP's).
    from markupsafe._speedups import _escape_inner as _clean  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    _clean = _clean_fallback


def escape_html(s: str) -> str:
    """``htmlspecialchars($s, ENT_QUOTES | ENT_SUBSTITUTE)``."""
    if _clean(s) is s:
        return s
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#039;")
    )


def escape_value(v: Any) -> str:
    """Print a value with HTML autoescaping (``Markup`` passes through)."""
    c = v.__class__
    if c is str:
        if _clean(v) is v:
            return v
        return escape_html(v)
    if c is int:
        return str(v)
    if c is Markup:
        return str.__str__(v)
    return escape_html(to_str(v))


def print_value(v: Any) -> str:
    c = v.__class__
    if c is str:
        return v
    return to_str(v)


def output_limit(st: State, out: list[str]) -> None:
    """Check the size of the output buffer, counting only what was added since the last check."""
    if st.out_list is not out:
        st.out_list, st.out_pos, st.out_len = out, 0, 0
    n = st.out_len
    for i in range(st.out_pos, len(out)):
        n += len(out[i])
    st.out_pos, st.out_len = len(out), n
    st.check_size(n)


def restore_scope(ctx: dict[str, Any], parent: dict[str, Any]) -> None:
    """End of a ``for`` loop: drop variables the loop created, bring back shadowed ones."""
    for k in [k for k in ctx if k not in parent]:
        del ctx[k]
    for k, v in parent.items():
        if k not in ctx:
            ctx[k] = v


def with_scope(env: Any, ctx: dict[str, Any], value: Any, only: bool) -> dict[str, Any]:
    """New variable scope for the ``with`` tag."""
    if value is not UNDEFINED and not is_array(value):
        raise TwigRuntimeError('Variables passed to the "with" tag must be a mapping.')
    new = dict(env.globals) if only else dict(ctx)
    if value is not UNDEFINED:
        for k, v in items(value):
            new[str(k)] = v
    return new


def empty(v: Any) -> bool:
    """Twig's ``empty`` test: '', null, false, [] (0 and '0' are not empty)."""
    if v is None or v is UNDEFINED or v is False:
        return True
    if isinstance(v, str):
        return v == ""
    if isinstance(v, (list, dict, tuple)):
        return len(v) == 0
    return False


def default(v: Any, d: Any = "") -> Any:
    return d if empty(v) else v


def check_arrow(fn: Any, filter_name: str) -> Arrow:
    if not isinstance(fn, Arrow):
        raise TwigRuntimeError(
            f'The callable passed to the "{filter_name}" filter must be a Closure in sandbox mode.'
        )
    return fn
