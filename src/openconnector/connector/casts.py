"""Mapping casts: ``"int"``, ``"bool,?bool"``, ``"unsetIfValue==x"``, ... with PHP semantics.

A mapping's ``cast`` object names, per output key, conversions applied after the
values are mapped. Mappings written for the PHP original must give the same
output here, so each cast copies what the PHP function does to PHP values
(``(int) "12abc"`` is 12, ``json_encode`` escapes ``/``, ``htmlentities`` uses
the HTML 4.01 table, ...). Where PHP would throw (``urlencode`` of an array)
the cast raises :class:`CastError`, which the mapping engine reports with the
mapping, key and cast.

Casts are parsed once per mapping (:func:`compile_casts`) into plain callables
``(value, output) -> value``; a cast that removes the key returns :data:`DELETE`.
Unknown casts are ignored, as in the original (a typo like ``"int, bool"``
silently skips ``" bool"``); :func:`compile_casts` reports them so a UI can warn.

The PHP value helpers (``php_string``, ``php_int``, ``php_float``,
``php_loose_equals``, ``php_empty``, ``json_encode``, ``html_entity_decode``,
``php_date``) are public because the mapping engine needs them too.
"""

from __future__ import annotations

import base64
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from html.entities import codepoint2name, name2codepoint
from typing import Any, Final

from openconnector.connector import paths

__all__ = [
    "DELETE",
    "KNOWN_CASTS",
    "Cast",
    "CastError",
    "compile_casts",
    "html_entity_decode",
    "htmlentities",
    "json_encode",
    "php_date",
    "php_empty",
    "php_float",
    "php_float_string",
    "php_int",
    "php_loose_equals",
    "php_string",
    "rawurlencode",
    "urlencode",
]

DELETE: Final[Any] = paths._Sentinel("DELETE")
"""Returned by a cast that removes its key from the output."""

Cast = Callable[[Any, Any], Any]
"""A compiled cast: ``cast(value, output) -> new value | DELETE``."""


class CastError(ValueError):
    """A cast cannot convert a value (where PHP would throw a TypeError)."""


# --------------------------------------------------------------------------- PHP scalars

_INT_MAX: Final = 2**63 - 1
_INT_MIN: Final = -(2**63)
# PHP's numeric prefix: optional leading whitespace, sign, digits with optional
# fraction (or a bare fraction), optional exponent.
_NUMERIC_PREFIX: Final = re.compile(
    r"[ \t\n\r\v\f]*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)
_WHITESPACE: Final = " \t\n\r\v\f"


def php_float_string(number: float, precision: int = 14, exponent_char: str = "E") -> str:
    """Format a float as PHP does: ``(string)`` with precision 14, JSON with 17/shortest.

    ``precision=17`` means PHP's ``serialize_precision = -1`` (shortest round-trip
    digits) used by ``json_encode``; it switches to exponent notation later than
    Python (``1.0e+16`` vs ``1e+16`` only from 1e17 on).
    """
    if math.isnan(number):
        return "NAN"
    if math.isinf(number):
        return "INF" if number > 0 else "-INF"
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    sign = "-" if number < 0 else ""
    magnitude = abs(number)
    if precision == 17:
        text = repr(magnitude)
    else:
        text = f"{magnitude:.{precision - 1}e}"
    digits_tuple, exponent = Decimal(text).as_tuple()[1:]
    digits = "".join(map(str, digits_tuple)).rstrip("0") or "0"
    point = len(digits_tuple) + int(exponent)  # decimal point position, as dtoa's decpt
    if (point < -3) if point < 0 else (point > precision):
        power = point - 1
        mantissa = digits[0] + "." + (digits[1:] or "0")
        return f"{sign}{mantissa}{exponent_char}{'-' if power < 0 else '+'}{abs(power)}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    whole = digits[:point].ljust(point, "0")
    fraction = digits[point:]
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def php_string(value: Any) -> str:
    """PHP ``(string)``: ``True`` → ``"1"``, ``False``/``None`` → ``""``, arrays → ``"Array"``."""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "1" if value else ""
    if kind is int:
        return str(value)
    if kind is float:
        return php_float_string(value)
    if value is None:
        return ""
    if kind is dict or kind is list:
        return "Array"
    return str(value)


def _string_argument(value: Any, cast: str) -> str:
    """A value passed to a PHP string function: arrays are a TypeError there."""
    if type(value) is str:
        return value
    if type(value) is dict or type(value) is list:
        raise CastError(f"cast '{cast}' needs a string, got {_php_type(value)}")
    return php_string(value)


def _php_type(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is dict or type(value) is list:
        return "array"
    return {bool: "bool", int: "int", float: "float", str: "string"}.get(type(value), type(value).__name__)


def _numeric_prefix(text: str) -> tuple[int | float, bool] | None:
    """The number a string starts with, and whether the whole string is numeric.

    Follows PHP 8's ``is_numeric_string``: leading and trailing whitespace are
    allowed in a numeric string, hex and ``inf`` are not numbers.
    """
    match = _NUMERIC_PREFIX.match(text)
    if match is None:
        return None
    literal = match.group(1)
    whole = text[match.end() :].strip(_WHITESPACE) == ""
    if "." not in literal and "e" not in literal and "E" not in literal:
        number = int(literal)
        if _INT_MIN <= number <= _INT_MAX:
            return number, whole
        return float(number), whole  # PHP turns an overflowing integer string into a float
    return float(literal), whole


def _float_to_int(number: float) -> int:
    """PHP ``(int)`` of a float: truncate; NaN/Inf → 0; out of range wraps (64 bit)."""
    if math.isnan(number) or math.isinf(number):
        return 0
    truncated = int(number)
    if _INT_MIN <= truncated <= _INT_MAX:
        return truncated
    wrapped = truncated % 2**64
    return wrapped - 2**64 if wrapped > _INT_MAX else wrapped


def php_int(value: Any) -> int:
    """PHP ``(int)``: ``"42"`` → 42, ``"1.9"`` → 1, ``"12abc"`` → 12, ``"abc"`` → 0."""
    kind = type(value)
    if kind is int:
        return value
    if kind is bool:
        return int(value)
    if kind is float:
        return _float_to_int(value)
    if kind is str:
        parsed = _numeric_prefix(value)
        if parsed is None:
            return 0
        number = parsed[0]
        if type(number) is int:
            return number
        # A numeric string beyond the int range saturates instead of wrapping.
        if math.isnan(number):
            return 0
        if number >= 2**63:
            return _INT_MAX
        if number <= -(2**63):
            return _INT_MIN
        return int(number)
    if value is None:
        return 0
    if kind is dict or kind is list:
        return 1 if value else 0
    return 0


def php_float(value: Any) -> float:
    """PHP ``(float)``: leading-number strings, ``None`` → 0.0, arrays → 0.0/1.0."""
    kind = type(value)
    if kind is float:
        return value
    if kind is int or kind is bool:
        return float(value)
    if kind is str:
        parsed = _numeric_prefix(value)
        return float(parsed[0]) if parsed is not None else 0.0
    if kind is dict or kind is list:
        return 1.0 if value else 0.0
    return 0.0


def _numeric_string(text: str) -> int | float | None:
    parsed = _numeric_prefix(text)
    if parsed is None or not parsed[1]:
        return None
    return parsed[0]


def php_loose_equals(left: Any, right: Any) -> bool:
    """PHP 8 ``==`` for JSON values (what ``unsetIfValue==X`` compares with).

    Numeric strings compare as numbers (``"1e1" == "10"``), a number and a
    non-numeric string compare as strings, ``null`` equals ``""``, a bool
    compares with the other side's truthiness, arrays never equal a scalar.
    """
    if type(right) is str and type(left) is not str:
        left, right = right, left
    lkind, rkind = type(left), type(right)
    if lkind is str and rkind is str:
        if left == right:
            return True
        a, b = _numeric_string(left), _numeric_string(right)
        return a is not None and b is not None and a == b
    if lkind is bool or rkind is bool:
        return (not php_empty(left)) == (not php_empty(right))
    if left is None or right is None:
        other = right if left is None else left
        if type(other) is str:
            return other == ""
        return php_empty(other)
    if lkind is str:  # string against a number or an array
        if rkind is dict or rkind is list:
            return False
        number = _numeric_string(left)
        if number is not None:
            return number == right
        return left == php_string(right)
    if lkind in (dict, list) or rkind in (dict, list):
        return _php_array_equals(left, right)
    return left == right


def _php_array_equals(left: Any, right: Any) -> bool:
    if type(left) not in (dict, list) or type(right) not in (dict, list):
        return False
    a = left if type(left) is dict else {str(i): v for i, v in enumerate(left)}
    b = right if type(right) is dict else {str(i): v for i, v in enumerate(right)}
    return a.keys() == b.keys() and all(php_loose_equals(a[key], b[key]) for key in a)


def php_empty(value: Any) -> bool:
    """PHP ``empty()``: ``None``, ``False``, ``0``, ``0.0``, ``""``, ``"0"``, ``[]``, ``{}``."""
    if value is None or value is False:
        return True
    kind = type(value)
    if kind is str:
        return value == "" or value == "0"
    if kind is int or kind is float:
        return value == 0
    if kind is dict or kind is list:
        return not value
    return False


# --------------------------------------------------------------------------- text encodings

# ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML401, PHP 8.1's defaults.
_HTMLENTITIES: Final = {cp: f"&{name};" for cp, name in codepoint2name.items()} | {ord("'"): "&#039;"}
_ENTITY: Final = re.compile(r"&(?:#[xX]([0-9a-fA-F]+)|#([0-9]+)|([A-Za-z][A-Za-z0-9]*));")


def htmlentities(text: str) -> str:
    """PHP ``htmlentities``: every character with an HTML 4.01 name, plus quotes."""
    return text.translate(_HTMLENTITIES)


def _allowed_code_point(cp: int) -> bool:
    # PHP's unicode_cp_is_allowed() for the HTML 4.01 doctype.
    return (
        0x20 <= cp <= 0x7E
        or cp in (0x09, 0x0A, 0x0D)
        or 0xA0 <= cp <= 0xD7FF
        or (0xE000 <= cp <= 0x10FFFF and (cp & 0xFFFF) < 0xFFFE and not 0xFDD0 <= cp <= 0xFDEF)
    )


def _decode_entity(match: re.Match[str]) -> str:
    hexadecimal, decimal, name = match.groups()
    if name is not None:
        cp = name2codepoint.get(name)
        return chr(cp) if cp is not None else match.group(0)
    digits = hexadecimal or decimal
    if len(digits) > 8:
        return match.group(0)
    cp = int(digits, 16 if hexadecimal else 10)
    return chr(cp) if _allowed_code_point(cp) else match.group(0)


def html_entity_decode(text: str) -> str:
    """PHP ``html_entity_decode`` (HTML 4.01 names, ``;`` required, one pass).

    Unlike :func:`html.unescape` it leaves ``&amp`` (no semicolon), ``&apos;``
    and disallowed code points such as ``&#0;`` alone, as PHP does.
    """
    if "&" not in text:
        return text
    return _ENTITY.sub(_decode_entity, text)


_URL_SAFE: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_RAWURL_SAFE: Final = _URL_SAFE | {ord("~")}
_PERCENT: Final = [f"%{byte:02X}" for byte in range(256)]


def urlencode(text: str) -> str:
    """PHP ``urlencode``: space → ``+``, everything but ``[A-Za-z0-9_.-]`` → ``%XX``."""
    return "".join(
        chr(b) if b in _URL_SAFE else "+" if b == 0x20 else _PERCENT[b] for b in text.encode("utf-8")
    )


def rawurlencode(text: str) -> str:
    """PHP ``rawurlencode`` (RFC 3986): space → ``%20``, ``~`` kept."""
    return "".join(chr(b) if b in _RAWURL_SAFE else _PERCENT[b] for b in text.encode("utf-8"))


_PERCENT_ESCAPE: Final = re.compile(rb"%([0-9a-fA-F]{2})")


def _urldecode(text: str, plus: bool) -> str:
    data = text.encode("utf-8")
    if plus:
        data = data.replace(b"+", b" ")
    decoded = _PERCENT_ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), data)
    # PHP returns raw bytes; JSON output needs text, so bad UTF-8 becomes U+FFFD.
    return decoded.decode("utf-8", errors="replace")


def _base64_decode(text: str) -> str:
    # PHP's non-strict base64_decode skips characters outside the alphabet and
    # tolerates missing padding.
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    decoded = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise CastError("cast 'base64Decode' decoded to binary data, not UTF-8 text") from None


# --------------------------------------------------------------------------- JSON


def json_encode(value: Any) -> str | bool:
    """PHP ``json_encode`` with default flags; ``False`` where PHP fails (NaN, INF).

    Compact, ``/`` escaped as ``\\/``, non-ASCII as ``\\uXXXX``; an empty object
    is ``[]`` and an object with keys ``"0"``..``"n-1"`` in order is a list, because
    PHP cannot tell those from lists.
    """
    try:
        return _json(value)
    except ValueError:
        return False


def _json(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return json.dumps(value).replace("/", "\\/")
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        if math.isnan(value) or math.isinf(value):
            raise ValueError("Inf and NaN cannot be JSON encoded")
        return php_float_string(value, 17, "e")
    if kind is list:
        return "[" + ",".join(_json(item) for item in value if item is not paths.HOLE) + "]"
    if kind is dict:
        if all(key == str(i) for i, key in enumerate(value)):
            return "[" + ",".join(_json(item) for item in value.values()) + "]"
        return "{" + ",".join(_json(str(key)) + ":" + _json(item) for key, item in value.items()) + "}"
    return _json(str(value))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_decode(text: str) -> Any:
    """PHP ``json_decode($text, true)``: invalid JSON → ``None``."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None


# --------------------------------------------------------------------------- transliteration

# What glibc's iconv //TRANSLIT does for letters that do not decompose.
_TRANSLIT: Final = str.maketrans(
    {
        "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH",
        "ı": "i", "ĳ": "ij", "Ĳ": "IJ", "€": "EUR", "£": "GBP", "©": "(C)", "®": "(R)",
        "‘": "'", "’": "'", "‚": ",", "“": '"', "”": '"', "„": '"', "«": "<<", "»": ">>",
        "–": "-", "—": "-", "…": "...", "•": "o", "×": "x", "÷": ":", "\u00a0": " ",
    }
)  # fmt: skip


def transliterate(text: str) -> str:
    """ASCII transliteration like ``iconv('UTF-8', 'ASCII//TRANSLIT')``.

    Accents are dropped (``é`` → ``e``), common ligatures and punctuation get
    their ASCII spelling, anything else becomes ``?`` as iconv writes it.
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return "".join(
        char if char.isascii() else "" if unicodedata.combining(char) else "?" for char in decomposed
    )


# --------------------------------------------------------------------------- dates


def php_date(format: str, moment: datetime | None = None) -> str:
    """PHP ``date($format)``: ``"Y-m-d H:i:s"`` → ``"2026-04-15 10:44:03"``; ``\\`` escapes.

    ``moment`` defaults to now in UTC (Nextcloud runs PHP in UTC). The format
    characters are Twig's ``date`` filter's (``openconnector.twig.dates``), so a
    cast and a template format a date the same way; imported here on first use
    so that the casts do not load the template engine.
    """
    from openconnector.twig.dates import php_date_format

    return php_date_format(moment or datetime.now(UTC), format)


# --------------------------------------------------------------------------- the casts


def _to_bool(value: Any) -> bool:
    # (int) $value === 1 || strtolower($value) === 'true' || ... === 'yes'
    if php_int(value) == 1:
        return True
    if type(value) is dict or type(value) is list:
        return False
    return php_string(value).lower() in ("true", "yes")


def _nullable_bool(value: Any) -> bool | None:
    return None if value is None else _to_bool(value)


def _to_array(value: Any) -> Any:
    if type(value) is dict or type(value) is list:
        return value
    return [] if value is None else [value]


def _json_to_array(value: Any) -> Any:
    if type(value) is dict or type(value) is list:
        return value
    return _json_decode(html_entity_decode(php_string(value)))


def _coordinates(value: Any) -> Any:
    if value is None or type(value) is dict or type(value) is list:
        raise CastError(f"cast 'coordinateStringToArray' needs a string, got {_php_type(value)}")
    pairs: list[list[str]] = []
    point: list[str] = []
    for half in php_string(value).split(" "):
        if len(point) > 1:
            pairs.append(point)
            point = []
        point.append(half)
    pairs.append(point)
    return pairs[0] if len(pairs) == 1 else pairs


def _money_string_to_int(value: Any) -> int:
    if type(value) is dict or type(value) is list:
        return php_int(value)
    return php_int(php_string(value).replace(".", "").replace(",", ""))


def _int_to_money_string(value: Any) -> str:
    # $value / 100, then number_format($value, 2, ',', '.').
    kind = type(value)
    if kind is bool or value is None:
        amount = Decimal(int(bool(value)))
    elif kind is int:
        amount = Decimal(value)
    elif kind is float:
        if math.isnan(value) or math.isinf(value):
            raise CastError("cast 'intToMoneyString' cannot format NAN or INF")
        amount = Decimal(repr(value))
    elif kind is str:
        parsed = _numeric_prefix(value)
        if parsed is None:
            raise CastError(f"cast 'intToMoneyString' needs a number, got the string '{value}'")
        number = parsed[0]
        amount = Decimal(number) if type(number) is int else Decimal(repr(number))
    else:
        raise CastError(f"cast 'intToMoneyString' needs a number, got {_php_type(value)}")
    cents = (amount / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{abs(cents):f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{'-' if cents < 0 else ''}{grouped},{fraction or '00'}"


def _string_cast(name: str, function: Callable[[str], Any]) -> Cast:
    def cast(value: Any, output: Any) -> Any:
        return function(_string_argument(value, name))

    return cast


def _value_cast(function: Callable[[Any], Any]) -> Cast:
    def cast(value: Any, output: Any) -> Any:
        return function(value)

    return cast


def _matches(value: Any, expected: str) -> bool:
    """The test of ``unsetIfValue==X`` / ``setNullIfValue==X``.

    Loose ``==`` against ``X``; with an empty ``X`` also any empty value, or an
    array whose leaves are all empty.
    """
    if php_loose_equals(value, expected):
        return True
    if expected == "":
        return php_empty(value) or (type(value) in (dict, list) and _all_leaves_empty(value))
    return False


def _all_leaves_empty(value: dict[str, Any] | list[Any]) -> bool:
    items = value.values() if type(value) is dict else value
    for item in items:
        if type(item) is dict or type(item) is list:
            if not _all_leaves_empty(item):
                return False
        elif not php_empty(item):
            return False
    return True


_SIMPLE: Final[dict[str, Cast]] = {
    "string": _value_cast(php_string),
    "bool": _value_cast(_to_bool),
    "boolean": _value_cast(_to_bool),
    "?bool": _value_cast(_nullable_bool),
    "?boolean": _value_cast(_nullable_bool),
    "int": _value_cast(php_int),
    "integer": _value_cast(php_int),
    "float": _value_cast(php_float),
    "array": _value_cast(_to_array),
    "date": _string_cast("date", php_date),
    "url": _string_cast("url", urlencode),
    "urlDecode": _string_cast("urlDecode", lambda text: _urldecode(text, plus=True)),
    "rawurl": _string_cast("rawurl", rawurlencode),
    "rawurlDecode": _string_cast("rawurlDecode", lambda text: _urldecode(text, plus=False)),
    "html": _string_cast("html", htmlentities),
    "htmlDecode": _string_cast("htmlDecode", html_entity_decode),
    "base64": _string_cast("base64", lambda text: base64.b64encode(text.encode("utf-8")).decode("ascii")),
    "base64Decode": _string_cast("base64Decode", _base64_decode),
    "json": _value_cast(json_encode),
    "jsonToArray": _value_cast(_json_to_array),
    "utf8": _string_cast("utf8", transliterate),
    "nullStringToNull": _value_cast(lambda value: None if value == "null" else value),
    "coordinateStringToArray": _value_cast(_coordinates),
    "moneyStringToInt": _value_cast(_money_string_to_int),
    "intToMoneyString": _value_cast(_int_to_money_string),
}

KNOWN_CASTS: Final = (
    *sorted(_SIMPLE),
    "countValue:<path>",
    "keyCantBeValue",
    "setNullIfValue==<value>",
    "unsetIfValue==<value>",
)


def _compile_one(spec: str, key: str) -> Cast | None:
    simple = _SIMPLE.get(spec)
    if simple is not None:
        return simple
    if spec.startswith("unsetIfValue=="):
        expected = spec[len("unsetIfValue==") :]
        return lambda value, output: DELETE if _matches(value, expected) else value
    if spec.startswith("setNullIfValue=="):
        expected = spec[len("setNullIfValue==") :]
        return lambda value, output: None if _matches(value, expected) else value
    if spec.startswith("countValue:"):
        segments = paths.split(spec[len("countValue:") :])
        if segments == ("",):
            return lambda value, output: value

        def count(value: Any, output: Any) -> Any:
            counted = paths.get(output, segments)
            if type(counted) is list:
                return sum(1 for item in counted if item is not paths.HOLE)
            if type(counted) is dict:
                return len(counted)
            return value

        return count
    if spec == "keyCantBeValue":
        return lambda value, output: DELETE if php_loose_equals(key, value) else value
    return None


def compile_casts(key: str, spec: str | Iterable[str]) -> tuple[list[tuple[str, Cast]], list[str]]:
    """Parse the casts for one output key: ``(name, cast)`` pairs in order, and unknown names.

    ``spec`` is ``"int"``, a comma-chained ``"string,unsetIfValue=="`` (applied
    left to right; no trimming, as in the original) or a list of names.
    """
    names = spec.split(",") if isinstance(spec, str) else [php_string(name) for name in spec]
    compiled: list[tuple[str, Cast]] = []
    unknown: list[str] = []
    for name in names:
        cast = _compile_one(name, key)
        if cast is None:
            unknown.append(name)
        else:
            compiled.append((name, cast))
    return compiled, unknown
