"""Twig's core filters plus OpenConnector's additions (``b64enc``, ``json_decode``, ...).

Each builtin takes the render :class:`~.runtime.State` first (for limits and
environment defaults), then the filtered value, then Twig's parameters under
Twig's names so that named arguments (``trim(side: "left")``) bind as in PHP.
Results follow PHP's functions (``array_slice``, ``strtr``, ``json_encode``,
``number_format``...), including their treatment of keys.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
import unicodedata
import urllib.parse
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from . import runtime as rt
from .dates import TwigDate, convert
from .errors import RuntimeError as TwigRuntimeError
from .runtime import Markup, State, to_str

# --------------------------------------------------------------- strings


def f_upper(st: State, value: Any) -> str:
    return to_str(value).upper()


def f_lower(st: State, value: Any) -> str:
    return to_str(value).lower()


def f_capitalize(st: State, value: Any) -> str:
    s = to_str(value)
    return s[:1].upper() + s[1:].lower()


def f_title(st: State, value: Any) -> str:
    # like mb_convert_case(MB_CASE_TITLE): letter runs start words ("1st" -> "1St", "they're" stays one word)
    return re.sub(
        r"[^\W\d_]+(?:'[^\W\d_]+)?", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), to_str(value)
    )


def f_trim(st: State, value: Any, character_mask: Any = None, side: str = "both") -> str:
    s = to_str(value)
    mask = " \t\n\r\0\x0b" if character_mask is None else to_str(character_mask)
    if side == "left":
        out = s.lstrip(mask)
    elif side == "right":
        out = s.rstrip(mask)
    elif side == "both":
        out = s.strip(mask)
    else:
        raise TwigRuntimeError('Trimming side must be "left", "right" or "both".')
    # Twig >= 3.12: trimming safe markup with the default mask keeps it safe
    return Markup(out) if isinstance(value, Markup) and character_mask is None else out


def f_nl2br(st: State, value: Any, is_xhtml: bool = True) -> Markup:
    br = "<br />" if is_xhtml else "<br>"
    return Markup(re.sub(r"(\r\n|\n\r|\n|\r)", lambda m: br + m.group(0), to_str(value)))


def f_striptags(st: State, value: Any, allowable_tags: Any = None) -> str:
    """PHP ``strip_tags``: drops tags, comments and PHP blocks; ``<`` followed by a space is text."""
    s = to_str(value)
    allowed: set[str] = set()
    if allowable_tags is not None:
        if rt.is_array(allowable_tags):
            allowed = {to_str(t).strip("<>/").lower() for t in rt.values(allowable_tags)}
        else:
            allowed = {t.lower() for t in re.findall(r"<([a-zA-Z0-9]+)>", to_str(allowable_tags))}
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c != "<" or i + 1 >= n or s[i + 1].isspace():
            out.append(c)
            i += 1
            continue
        if s.startswith("<!--", i):
            j = s.find("-->", i + 4)
            i = n if j < 0 else j + 3
            continue
        # scan to the closing '>' honouring quotes
        j, quote, depth = i + 1, "", 1
        while j < n:
            ch = s[j]
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "<":
                depth += 1
            elif ch == ">":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        tag = s[i : j + 1]
        if allowed:
            m = re.match(r"</?([a-zA-Z0-9]+)", tag)
            if m and m.group(1).lower() in allowed:
                out.append(tag)
        i = j + 1
    return "".join(out)


def f_replace(st: State, value: Any, from_: Any) -> str:
    if not rt.is_array(from_):
        raise TwigRuntimeError(
            f'The "replace" filter expects a sequence or a mapping, got "{rt.type_name(from_)}".'
        )
    pairs = {to_str(k): to_str(v) for k, v in rt.items(from_) if to_str(k) != ""}
    s = to_str(value)
    if not pairs:
        return s
    rx = re.compile("|".join(re.escape(k) for k in sorted(pairs, key=len, reverse=True)))
    out = rx.sub(lambda m: pairs[m.group(0)], s)
    st.check_size(len(out), "string")
    return out


def _sprintf(st: State, fmt: str, args: list[Any]) -> str:
    """PHP ``sprintf`` (``%s %d %05.2f %'*10s %-10s %x %b %e %u %c %%`` and ``%1$s``)."""
    out: list[str] = []
    argi = 0
    rx = re.compile(r"%(?:(\d+)\$)?([-+ 0]|'.)*(\d+)?(?:\.(\d+))?([bcdeEfFgGosuxX%])")
    pos = 0
    for m in rx.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        conv = m.group(5)
        if conv == "%":
            out.append("%")
            continue
        flags_src = fmt[
            m.start() + 1 : m.start(3) if m.group(3) else (m.start(4) - 1 if m.group(4) else m.start(5))
        ]
        if m.group(1):
            flags_src = flags_src[len(m.group(1)) + 1 :]
            idx = int(m.group(1)) - 1
        else:
            idx = argi
            argi += 1
        if idx >= len(args) or idx < 0:
            raise TwigRuntimeError(f"{len(args) + 1} arguments are required, {len(args)} given.")
        arg = args[idx]
        left = plus = False
        pad = " "
        k = 0
        while k < len(flags_src):
            ch = flags_src[k]
            if ch == "-":
                left = True
            elif ch == "+":
                plus = True
            elif ch == "0":
                pad = "0"
            elif ch == " ":
                pad = " "
            elif ch == "'":
                k += 1
                pad = flags_src[k]
            k += 1
        width = int(m.group(3) or 0)
        prec = int(m.group(4)) if m.group(4) is not None else None
        if width > st.max_output or (prec or 0) > 1000:
            raise TwigRuntimeError(f"The format width or precision exceeds the limit of {st.max_output}.")
        if conv == "s":
            s = to_str(arg)
            if prec is not None:
                s = s[:prec]
        elif conv in "du":
            v = rt.to_int(arg)
            if conv == "u" and v < 0:
                v += 2**64
            s = str(v)
            if plus and v >= 0:
                s = "+" + s
        elif conv in "eEfFgG":
            v = rt.to_float(arg)
            p = 6 if prec is None else prec
            if conv in "eE":
                s = f"{v:.{p}e}"
                mant, ex = s.split("e")
                s = f"{mant}e{int(ex):+d}"
                if conv == "E":
                    s = s.upper()
            elif conv in "gG":
                s = f"{v:.{p or 1}{conv}}"
                if "e" in s.lower():
                    mant, ex = re.split("[eE]", s)
                    s = f"{mant}{'e' if conv == 'g' else 'E'}{int(ex):+d}"
            else:
                s = f"{v:.{p}f}"
            if plus and v >= 0:
                s = "+" + s
        elif conv == "x":
            s = format(rt.to_int(arg) & (2**64 - 1), "x")
        elif conv == "X":
            s = format(rt.to_int(arg) & (2**64 - 1), "X")
        elif conv == "o":
            s = format(rt.to_int(arg) & (2**64 - 1), "o")
        elif conv == "b":
            s = format(rt.to_int(arg) & (2**64 - 1), "b")
        elif conv == "c":
            out.append(chr(rt.to_int(arg) % 256))
            continue
        else:  # pragma: no cover
            s = ""
        if len(s) < width:
            if left:
                s = s + (" " if pad == "0" else pad) * (width - len(s))
            elif pad == "0" and s[:1] in "+-" and conv not in "s":
                s = s[0] + "0" * (width - len(s)) + s[1:]
            else:
                s = pad * (width - len(s)) + s
        out.append(s)
    out.append(fmt[pos:])
    result = "".join(out)
    st.check_size(len(result), "string")
    return result


def f_format(st: State, value: Any, *values: Any) -> str:
    return _sprintf(st, to_str(value), list(values))


def f_url_encode(st: State, url: Any) -> str:
    if rt.is_array(url):
        return _build_query(url, None)
    return urllib.parse.quote(to_str(url), safe="-_.~")


def _build_query(data: Any, prefix: str | None) -> str:
    """PHP ``http_build_query($data, '', '&', PHP_QUERY_RFC3986)``."""
    parts: list[str] = []
    for k, v in rt.items(data):
        key = to_str(k) if prefix is None else f"{prefix}[{to_str(k)}]"
        if v is None:
            continue
        if rt.is_array(v):
            sub = _build_query(v, key)
            if sub:
                parts.append(sub)
            continue
        if v is True:
            v = 1
        elif v is False:
            v = 0
        parts.append(urllib.parse.quote(key, safe="-_.~") + "=" + urllib.parse.quote(to_str(v), safe="-_.~"))
    return "&".join(parts)


def escape(
    st: State, value: Any, strategy: str = "html", charset: Any = None, autoescape: bool = False
) -> Markup:
    """Twig's ``escape``/``e``: html (default), html_attr, js, css, url."""
    if isinstance(value, Markup) and strategy == "html":
        return value
    s = to_str(value)
    if strategy == "html":
        return Markup(rt.escape_html(s))
    if strategy == "url":
        return Markup(urllib.parse.quote(s, safe="-_.~"))
    if strategy == "js":
        return Markup(re.sub(r"[^a-zA-Z0-9,._]", _js_escape, s))
    if strategy == "css":
        return Markup(re.sub(r"[^a-zA-Z0-9]", lambda m: f"\\{ord(m.group(0)):X} ", s))
    if strategy == "html_attr":
        return Markup(re.sub(r"[^a-zA-Z0-9,.\-_]", _attr_escape, s))
    raise TwigRuntimeError(
        f'Invalid escaping strategy "{strategy}" (valid ones: html, js, url, css, and html_attr).'
    )


_JS_SHORT = {"\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _js_escape(m: re.Match[str]) -> str:
    c = m.group(0)
    if c in _JS_SHORT:
        return _JS_SHORT[c]
    b = c.encode("utf-16-be")
    return "".join(f"\\u{b[i]:02X}{b[i + 1]:02X}" for i in range(0, len(b), 2))


def _attr_escape(m: re.Match[str]) -> str:
    c = m.group(0)
    o = ord(c)
    if (o <= 0x1F and c not in "\t\n\r") or 0x7F <= o <= 0x9F:
        return "&#xFFFD;"
    named = {34: "&quot;", 38: "&amp;", 60: "&lt;", 62: "&gt;"}
    if o in named:
        return named[o]
    if o > 255:
        return f"&#x{o:04X};"
    return f"&#x{o:02X};"


def f_convert_encoding(st: State, value: Any, to: str, from_: str) -> str:
    """Strings are text here; other encodings are carried as byte-per-character strings."""
    s = to_str(value)
    try:
        text = s if from_.lower().replace("-", "") == "utf8" else s.encode("latin-1").decode(from_)
        if to.lower().replace("-", "") == "utf8":
            return text
        return text.encode(to).decode("latin-1")
    except (LookupError, UnicodeError) as exc:
        raise TwigRuntimeError(f"convert_encoding failed: {exc}") from None


# --------------------------------------------------------------- numbers


def _php_round(x: float, precision: int = 0) -> float:
    try:
        d = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return float(x)
    return float(d)


def f_abs(st: State, number: Any) -> Any:
    n = rt.to_num(number)
    return abs(n)


def f_round(st: State, value: Any, precision: int = 0, method: str = "common") -> float:
    v = rt.to_float(value)
    p = rt.to_int(precision)
    if method == "common":
        return _php_round(v, p)
    if method not in ("ceil", "floor"):
        raise TwigRuntimeError('The round filter only supports the "common", "ceil", and "floor" methods.')
    if abs(p) > 300:
        return v
    m = 10.0**p
    r = (math.ceil(v * m) if method == "ceil" else math.floor(v * m)) / m
    return float(r)


def f_number_format(
    st: State, number: Any, decimal: Any = None, decimal_point: Any = None, thousand_sep: Any = None
) -> str:
    defaults = st.env.number_format
    dec = rt.to_int(defaults[0] if decimal is None else decimal)
    point = to_str(defaults[1] if decimal_point is None else decimal_point)
    sep = to_str(defaults[2] if thousand_sep is None else thousand_sep)
    if dec > 100:
        dec = 100
    v = rt.to_float(number)
    if math.isnan(v) or math.isinf(v):
        return "nan" if math.isnan(v) else ("-inf" if v < 0 else "inf")
    r = _php_round(v, max(dec, 0))
    s = f"{abs(r):.{max(dec, 0)}f}"
    whole, _, frac = s.partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    out = sep.join(groups)
    if dec > 0:
        out += point + frac
    if r < 0 and any(ch not in "0" for ch in s.replace(".", "")):
        out = "-" + out
    return out


# --------------------------------------------------------------- arrays


def f_length(st: State, thing: Any) -> int:
    if thing is None or thing is rt.UNDEFINED:
        return 0
    if isinstance(thing, (list, dict, tuple)):
        return len(thing)
    return len(to_str(thing))


def f_first(st: State, item: Any) -> Any:
    if isinstance(item, str):
        return item[:1]
    vals = rt.values(item)
    return vals[0] if vals else None


def f_last(st: State, item: Any) -> Any:
    if isinstance(item, str):
        return item[-1:]
    vals = rt.values(item)
    return vals[-1] if vals else None


def f_join(st: State, value: Any, glue: Any = "", and_: Any = None) -> str:
    if not rt.is_array(value):
        return ""
    vals = [to_str(v) for v in rt.values(value)]
    g = to_str(glue)
    if and_ is None or len(vals) < 2:
        out = g.join(vals)
    else:
        out = g.join(vals[:-1]) + to_str(and_) + vals[-1]
    st.check_size(len(out), "string")
    return out


def f_split(st: State, value: Any, delimiter: Any, limit: Any = None) -> list[str]:
    s = to_str(value)
    d = to_str(delimiter)
    lim = None if limit is None else rt.to_int(limit)
    if d == "":
        size = max(lim or 1, 1)
        if not s:
            return [""] if lim is None else []
        return [s[i : i + size] for i in range(0, len(s), size)]
    if lim is None:
        return s.split(d)
    if lim > 0:
        return s.split(d, lim - 1)
    parts = s.split(d)
    if lim == 0:
        return [s]
    return parts[:lim]


def f_keys(st: State, array: Any) -> list[Any]:
    return [k for k, _ in rt.items(array)]


def f_merge(st: State, arr1: Any, arr2: Any) -> Any:
    if not rt.is_array(arr1):
        raise TwigRuntimeError(
            f'The "merge" filter expects a sequence or a mapping, got "{rt.type_name(arr1)}".'
        )
    if not rt.is_array(arr2):
        raise TwigRuntimeError(
            f'The "merge" filter expects a sequence or a mapping as argument, got "{rt.type_name(arr2)}".'
        )
    total = len(arr1) + len(arr2)
    st.check_count(total, "merged sequence")
    if isinstance(arr1, list) and isinstance(arr2, list):
        return arr1 + arr2
    return rt.renumber([*rt.items(arr1), *rt.items(arr2)])


def f_reverse(st: State, item: Any, preserve_keys: bool = False) -> Any:
    if isinstance(item, str):
        return item[::-1]
    if not rt.is_array(item):
        return "" if item is None else to_str(item)[::-1]
    pairs = list(reversed(rt.items(item)))
    return rt.make_array(pairs) if preserve_keys else rt.renumber(pairs)


def f_slice(st: State, item: Any, start: Any, length: Any = None, preserve_keys: bool = False) -> Any:
    if rt.is_array(item):
        pairs = rt.items(item)
        a, b = _slice_bounds(len(pairs), rt.to_int(start), None if length is None else rt.to_int(length))
        return rt.make_array(pairs[a:b]) if preserve_keys else rt.renumber(pairs[a:b])
    s = to_str(item)
    a, b = _slice_bounds(len(s), rt.to_int(start), None if length is None else rt.to_int(length))
    return s[a:b]


def _slice_bounds(n: int, start: int, length: int | None) -> tuple[int, int]:
    a = start if start >= 0 else max(n + start, 0)
    a = min(a, n)
    if length is None:
        b = n
    elif length >= 0:
        b = min(a + length, n)
    else:
        b = max(n + length, a)
    return a, b


def f_batch(st: State, items: Any, size: Any, fill: Any = None, preserve_keys: bool = True) -> list[Any]:
    sz = int(math.ceil(rt.to_float(size)))
    if sz <= 0:
        raise TwigRuntimeError("The batch size must be greater than zero.")
    st.check_count(sz, "batch")
    pairs = rt.items(items)
    chunks = [pairs[i : i + sz] for i in range(0, len(pairs), sz)]
    result: list[Any] = []
    for ch in chunks:
        if preserve_keys:
            d = dict(ch)
        else:
            d = {i: v for i, (_, v) in enumerate(ch)}
        result.append(d)
    if fill is not None and result:
        last = result[-1]
        for _ in range(sz - len(last)):
            last[rt.next_index(last)] = fill
    return [rt.compact(d) for d in result]


def f_column(st: State, array: Any, name: Any, index: Any = None) -> Any:
    out: dict[Any, Any] = {}
    n = 0
    for _, row in rt.items(array):
        if not rt.is_array(row):
            continue
        v = rt._lookup(row, name)
        if v is rt.UNDEFINED:
            continue
        if index is not None:
            kv = rt._lookup(row, index)
            if kv is not rt.UNDEFINED:
                k = rt.norm_key(kv)
                out[k] = v
                continue
        while n in out:
            n += 1
        out[n] = v
        n += 1
    return rt.compact(out)


def f_map(st: State, array: Any, arrow: Any) -> Any:
    fn = rt.check_arrow(arrow, "map")
    return rt.make_array((k, fn(v, k)) for k, v in rt.items(array))


def f_filter(st: State, array: Any, arrow: Any) -> Any:
    fn = rt.check_arrow(arrow, "filter")
    return rt.make_array((k, v) for k, v in rt.items(array) if rt.to_bool(fn(v, k)))


def f_find(st: State, array: Any, arrow: Any) -> Any:
    fn = rt.check_arrow(arrow, "find")
    for k, v in rt.items(array):
        if rt.to_bool(fn(v, k)):
            return v
    return None


def f_reduce(st: State, array: Any, arrow: Any, initial: Any = None) -> Any:
    fn = rt.check_arrow(arrow, "reduce")
    acc = initial
    for k, v in rt.items(array):
        acc = fn(acc, v, k)
    return acc


def f_sort(st: State, array: Any, arrow: Any = None) -> Any:
    pairs = rt.items(array)
    if arrow is None:
        key = functools.cmp_to_key(lambda a, b: rt.compare(a[1], b[1]))
    else:
        fn = rt.check_arrow(arrow, "sort")
        key = functools.cmp_to_key(lambda a, b: rt.to_int(fn(a[1], b[1])))
    return rt.make_array(sorted(pairs, key=key))


def f_default(value: Any, default: Any = "") -> Any:
    return default if rt.empty(value) else value


def f_raw(st: State, value: Any) -> Any:
    return value


# --------------------------------------------------------------- json & co


def _json_float(f: float) -> str:
    if not math.isfinite(f):
        raise TwigRuntimeError("Inf and NaN cannot be JSON encoded.")
    if f == int(f) and abs(f) < 1e15:
        return f"{'-' if math.copysign(1, f) < 0 and f == 0 else ''}{int(f)}.0"
    r = repr(f)
    if "e" in r:
        mant, ex = r.split("e")
        if "." not in mant:
            mant += ".0"
        r = f"{mant}e{'+' if int(ex) >= 0 else '-'}{abs(int(ex))}"
    return r


JSON_HEX_TAG, JSON_HEX_AMP, JSON_HEX_APOS, JSON_HEX_QUOT = 1, 2, 4, 8
JSON_FORCE_OBJECT, JSON_UNESCAPED_SLASHES, JSON_PRETTY_PRINT, JSON_UNESCAPED_UNICODE = 16, 64, 128, 256
JSON_PRESERVE_ZERO_FRACTION = 1024


def json_encode(value: Any, options: int = 0, depth: int = 0, indent: int = 0) -> str:
    """PHP ``json_encode``: ``\\/`` and ``\\uXXXX`` by default, ``[]`` for lists and empty arrays."""
    if depth > 512:
        raise TwigRuntimeError("Maximum stack depth exceeded.")
    pretty = bool(options & JSON_PRETTY_PRINT)
    nl = "\n" if pretty else ""
    if value is None or value is rt.UNDEFINED:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        s = _json_float(value)
        if s.endswith(".0") and not options & JSON_PRESERVE_ZERO_FRACTION:
            s = s[:-2]
        return s
    if isinstance(value, str):
        s = json.dumps(str(value), ensure_ascii=not options & JSON_UNESCAPED_UNICODE)
        if not options & JSON_UNESCAPED_SLASHES:
            s = s.replace("/", "\\/")
        if options & JSON_HEX_TAG:
            s = s.replace("<", "\\u003C").replace(">", "\\u003E")
        if options & JSON_HEX_AMP:
            s = s.replace("&", "\\u0026")
        if options & JSON_HEX_APOS:
            s = s.replace("'", "\\u0027")
        if options & JSON_HEX_QUOT:
            s = s.replace('\\"', "\\u0022")
        return s
    if isinstance(value, TwigDate):
        return json_encode(
            {"date": value.format("Y-m-d H:i:s.u"), "timezone_type": 3, "timezone": value.format("e")},
            options,
            depth + 1,
            indent,
        )
    if rt.is_array(value):
        pad = "    " * (indent + 1) if pretty else ""
        end_pad = "    " * indent if pretty else ""
        if rt.is_list(value) and not options & JSON_FORCE_OBJECT:
            vals = rt.values(value)
            if not vals:
                return "[]"
            inner = ("," + nl).join(pad + json_encode(v, options, depth + 1, indent + 1) for v in vals)
            return "[" + nl + inner + nl + end_pad + "]"
        pairs = rt.items(value)
        if not pairs:
            return "{}"
        sep = ": " if pretty else ":"
        inner = ("," + nl).join(
            pad
            + json_encode(to_str(k), options, depth + 1)
            + sep
            + json_encode(v, options, depth + 1, indent + 1)
            for k, v in pairs
        )
        return "{" + nl + inner + nl + end_pad + "}"
    return "{}"


def f_json_encode(st: State, value: Any, options: Any = 0) -> str:
    return json_encode(value, rt.to_int(options))


def _php_object(pairs: list[tuple[str, Any]]) -> Any:
    return rt.make_array(pairs)


def f_json_decode(st: State, value: Any) -> Any:
    """JSON text -> arrays (objects become hashes; ``{"0": ..}`` becomes a list, as in PHP)."""
    if value is None:
        return None
    try:
        return json.loads(to_str(value), object_pairs_hook=_php_object)
    except (ValueError, RecursionError):
        return None


def f_b64enc(st: State, value: Any) -> str:
    return base64.b64encode(to_str(value).encode("utf-8", "surrogateescape")).decode("ascii")


def f_b64dec(st: State, value: Any) -> str:
    try:
        raw = base64.b64decode(to_str(value).encode("ascii", "ignore") + b"==", validate=False)
    except ValueError:
        return ""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def f_slugify(st: State, value: Any) -> str:
    """Lowercase; spaces/underscores -> ``-``; drop other chars outside ``[a-z0-9-]``; collapse ``-``."""
    s = unicodedata.normalize("NFKD", to_str(value)).encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[\s_]+", "-", s)
    s = re.sub(r"[^a-z0-9-]", "", s)
    s = re.sub(r"-{2,}", "-", s)
    return s.strip("-")


# --------------------------------------------------------------- dates


def f_date(st: State, date: Any, format: Any = None, timezone: Any = None) -> str:  # noqa: A002
    fmt = st.env.date_format[0] if format is None else to_str(format)
    return convert(date, timezone, st.env.timezone).format(fmt)


def f_date_modify(st: State, date: Any, modifier: Any) -> TwigDate:
    return convert(date, False, st.env.timezone).modify(to_str(modifier))


FILTERS: dict[str, Any] = {
    "abs": f_abs,
    "batch": f_batch,
    "capitalize": f_capitalize,
    "column": f_column,
    "convert_encoding": f_convert_encoding,
    "date": f_date,
    "date_modify": f_date_modify,
    "escape": escape,
    "e": escape,
    "filter": f_filter,
    "find": f_find,
    "first": f_first,
    "format": f_format,
    "join": f_join,
    "json_encode": f_json_encode,
    "keys": f_keys,
    "last": f_last,
    "length": f_length,
    "lower": f_lower,
    "map": f_map,
    "merge": f_merge,
    "nl2br": f_nl2br,
    "number_format": f_number_format,
    "raw": f_raw,
    "reduce": f_reduce,
    "replace": f_replace,
    "reverse": f_reverse,
    "round": f_round,
    "slice": f_slice,
    "sort": f_sort,
    "split": f_split,
    "striptags": f_striptags,
    "title": f_title,
    "trim": f_trim,
    "upper": f_upper,
    "url_encode": f_url_encode,
    "b64enc": f_b64enc,
    "b64dec": f_b64dec,
    "json_decode": f_json_decode,
    "slugify": f_slugify,
}
