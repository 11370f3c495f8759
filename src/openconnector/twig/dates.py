"""Dates the way Twig's ``date`` filter sees them: PHP formats, parsing, relative formats.

Mappings carry PHP idioms such as ``"now"|date("Y-m-d H:i:s")``,
``created|date("c")`` on unix timestamps or ISO strings, and
``date_modify("+1 day")``; this module implements PHP's ``date()`` format
characters and the subset of ``strtotime``/``DateTime::modify`` grammar that
such mappings use, in a configurable timezone (``zoneinfo``).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import RuntimeError as TwigRuntimeError

_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DAY_ABBR = (
    {d[:3]: i for i, d in enumerate(_DAYS)}
    | {d: i for i, d in enumerate(_DAYS)}
    | {"tues": 1, "wednes": 2, "thur": 3, "thurs": 3}
)
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH_IDX = (
    {m: i + 1 for i, m in enumerate(_MONTHS)} | {m[:3]: i + 1 for i, m in enumerate(_MONTHS)} | {"sept": 9}
)


def get_timezone(name: Any) -> tzinfo:
    """``DateTimeZone`` equivalent: identifiers, ``UTC``, ``+02:00`` offsets."""
    if isinstance(name, tzinfo):
        return name
    s = str(name)
    if s.upper() in ("UTC", "Z", "GMT"):
        return UTC
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", s)
    if m:
        off = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        return timezone(-off if m.group(1) == "-" else off)
    try:
        return ZoneInfo(s)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise TwigRuntimeError(f"DateTimeZone::__construct(): Unknown or bad timezone ({s})") from None


class TwigDate:
    """An immutable PHP-like ``DateTime``: an aware datetime plus PHP formatting."""

    __slots__ = ("dt",)

    def __init__(self, dt: datetime) -> None:
        self.dt = dt

    def sort_key(self) -> float:
        return self.dt.timestamp()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TwigDate) and self.dt == other.dt

    def __hash__(self) -> int:
        return hash(self.dt)

    def __repr__(self) -> str:
        return f"TwigDate({self.dt.isoformat()})"

    def set_timezone(self, tz: tzinfo) -> TwigDate:
        return TwigDate(self.dt.astimezone(tz))

    def timestamp(self) -> int:
        return int(self.dt.timestamp() // 1)

    def format(self, fmt: str) -> str:
        return php_date_format(self.dt, fmt)

    def modify(self, modifier: str) -> TwigDate:
        return TwigDate(parse_datetime(modifier, self.dt.tzinfo or UTC, base=self.dt))

    def call(self, name: str, args: list[Any]) -> Any:
        """The small allow-list of DateTime methods reachable from templates."""
        from .runtime import UNDEFINED, to_str

        lname = name.lower()
        if lname == "format":
            return self.format(to_str(args[0]) if args else "")
        if lname in ("timestamp", "gettimestamp"):
            return self.timestamp()
        if lname in ("offset", "getoffset"):
            off = self.dt.utcoffset()
            return int(off.total_seconds()) if off else 0
        if lname in ("timezone", "gettimezone"):
            return tz_name(self.dt)
        if lname == "modify" and args:
            return self.modify(to_str(args[0]))
        return UNDEFINED


def tz_name(dt: datetime) -> str:
    tz = dt.tzinfo
    if isinstance(tz, ZoneInfo):
        return tz.key
    if tz is UTC:
        return "UTC"
    return _offset(dt, ":")


def _offset(dt: datetime, sep: str) -> str:
    off = dt.utcoffset() or timedelta(0)
    secs = int(off.total_seconds())
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    return f"{sign}{secs // 3600:02d}{sep}{secs % 3600 // 60:02d}"


def _suffix(d: int) -> str:
    if d in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def php_date_format(dt: datetime, fmt: str) -> str:
    """PHP ``date()`` format characters (backslash escapes the next one)."""
    out: list[str] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        i += 1
        if c == "\\":
            if i < len(fmt):
                out.append(fmt[i])
                i += 1
            continue
        out.append(_FMT[c](dt) if c in _FMT else c)
    return "".join(out)


def _tz_abbr(dt: datetime) -> str:
    tz = dt.tzinfo
    if tz is UTC:
        return "UTC"
    if isinstance(tz, ZoneInfo):
        name = dt.tzname() or ""
        if name and (name[0] in "+-"):
            return _offset(dt, ":") if len(name) > 3 else name
        return name
    return _offset(dt, ":")


def _swatch(dt: datetime) -> str:
    u = dt.astimezone(UTC)
    beats = int(((u.hour * 3600 + u.minute * 60 + u.second + 3600) % 86400) / 86.4)
    return f"{beats:03d}"


_FMT = {
    "d": lambda d: f"{d.day:02d}",
    "D": lambda d: _DAYS[d.weekday()][:3].capitalize(),
    "j": lambda d: str(d.day),
    "l": lambda d: _DAYS[d.weekday()].capitalize(),
    "N": lambda d: str(d.isoweekday()),
    "S": lambda d: _suffix(d.day),
    "w": lambda d: str(d.isoweekday() % 7),
    "z": lambda d: str(d.timetuple().tm_yday - 1),
    "W": lambda d: f"{d.isocalendar()[1]:02d}",
    "F": lambda d: _MONTHS[d.month - 1].capitalize(),
    "m": lambda d: f"{d.month:02d}",
    "M": lambda d: _MONTHS[d.month - 1][:3].capitalize(),
    "n": lambda d: str(d.month),
    "t": lambda d: str(calendar.monthrange(d.year, d.month)[1]),
    "L": lambda d: "1" if calendar.isleap(d.year) else "0",
    "o": lambda d: str(d.isocalendar()[0]),
    "Y": lambda d: f"{d.year:04d}",
    "y": lambda d: f"{d.year % 100:02d}",
    "a": lambda d: "am" if d.hour < 12 else "pm",
    "A": lambda d: "AM" if d.hour < 12 else "PM",
    "B": _swatch,
    "g": lambda d: str((d.hour % 12) or 12),
    "G": lambda d: str(d.hour),
    "h": lambda d: f"{(d.hour % 12) or 12:02d}",
    "H": lambda d: f"{d.hour:02d}",
    "i": lambda d: f"{d.minute:02d}",
    "s": lambda d: f"{d.second:02d}",
    "u": lambda d: f"{d.microsecond:06d}",
    "v": lambda d: f"{d.microsecond // 1000:03d}",
    "e": tz_name,
    "I": lambda d: "1" if d.dst() else "0",
    "O": lambda d: _offset(d, ""),
    "P": lambda d: _offset(d, ":"),
    "p": lambda d: "Z" if not (d.utcoffset() or timedelta(0)) else _offset(d, ":"),
    "T": _tz_abbr,
    "Z": lambda d: str(int((d.utcoffset() or timedelta(0)).total_seconds())),
    "c": lambda d: php_date_format(d, "Y-m-d\\TH:i:sP"),
    "r": lambda d: php_date_format(d, "D, d M Y H:i:s O"),
    "U": lambda d: str(int(d.timestamp() // 1)),
}

# --------------------------------------------------------------- parsing

_UNITS = {
    "sec": "seconds",
    "secs": "seconds",
    "second": "seconds",
    "seconds": "seconds",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "fortnight": "fortnights",
    "fortnights": "fortnights",
    "forthnight": "fortnights",
    "month": "months",
    "months": "months",
    "year": "years",
    "years": "years",
    "weekday": "weekdays",
    "weekdays": "weekdays",
    "usec": "microseconds",
    "usecs": "microseconds",
    "microsecond": "microseconds",
    "microseconds": "microseconds",
    "msec": "milliseconds",
    "msecs": "milliseconds",
    "millisecond": "milliseconds",
    "milliseconds": "milliseconds",
}
_UNIT_RE = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
_DAY_RE = "|".join(sorted(_DAY_ABBR, key=len, reverse=True))
_MONTH_RE = "|".join(sorted(_MONTH_IDX, key=len, reverse=True))
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "next": 1,
    "last": -1,
    "previous": -1,
    "this": 0,
}
_ORD_RE = "|".join(_ORDINALS)

_TZ_RE = r"(?P<tz>z\b|utc\b|gmt\b|[+-]\d{2}:?\d{2}\b|[+-]\d{2}\b|[a-z]+/[a-z_]+(?:/[a-z_]+)?)"
_TIME_RE = r"t?(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,:](?P<F>\d+))?)?\s*(?P<ampm>[ap]\.?m\.?\b)?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("timestamp", re.compile(r"@(?P<ts>-?\d+(?:\.\d+)?)")),
    ("iso", re.compile(r"(?P<y>[+-]?\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d])")),
    (
        "isocompact",
        re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:t(?P<H>\d{2}):?(?P<M>\d{2}):?(?P<S>\d{2}))?\b"),
    ),
    ("ymd_slash", re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})\b")),
    ("us", re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:/(?P<y>\d{2,4}))?\b")),
    ("dmy", re.compile(r"(?P<d>\d{1,2})[-.](?P<m>\d{1,2})[-.](?P<y>\d{4})\b")),
    ("time", re.compile(_TIME_RE)),
    ("time12", re.compile(r"(?P<H>\d{1,2})\s*(?P<ampm>[ap]\.?m\.?)(?![a-z])")),
    (
        "textdate",
        re.compile(rf"(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?(?:\s+(?P<y>\d{{4}}))?\b"),
    ),
    (
        "textdate2",
        re.compile(
            rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[\s-]+(?P<mon>{_MONTH_RE})\.?(?:[\s-]+(?P<y>\d{{4}}))?\b"
        ),
    ),
    ("firstlast", re.compile(r"(?P<fl>first|last)\s+day\s+of\b")),
    ("ordinal_wd", re.compile(rf"(?P<o>{_ORD_RE})\s+(?P<wd>{_DAY_RE})\s+of\b")),
    ("rel_text", re.compile(rf"(?P<o>{_ORD_RE})\s+(?P<unit>{_UNIT_RE}|{_DAY_RE})\b")),
    ("rel", re.compile(rf"(?P<n>[+-]?\s*\d+)\s*(?P<unit>{_UNIT_RE}|{_DAY_RE})\b")),
    ("ago", re.compile(r"ago\b")),
    ("word", re.compile(r"(?P<w>now|today|midnight|noon|tomorrow|yesterday)\b")),
    ("weekday", re.compile(rf"(?P<wd>{_DAY_RE})\b")),
    ("monthname", re.compile(rf"(?P<mon>{_MONTH_RE})\b(?:\s+(?P<y>\d{{4}})\b)?")),
    ("year", re.compile(r"(?P<y>\d{4})\b")),
    ("tz", re.compile(_TZ_RE)),
]


def _fail(s: str, pos: int) -> TwigRuntimeError:
    ch = s[pos] if pos < len(s) else ""
    return TwigRuntimeError(
        f"Failed to parse time string ({s}) at position {pos} ({ch}): The timezone could not be found in the database."
    )


def parse_datetime(text: str, tz: tzinfo, base: datetime | None = None) -> datetime:
    """Parse an absolute and/or relative date string like PHP's ``new DateTime($text, $tz)``."""
    s = text.strip().lower()
    now = base if base is not None else datetime.now(tz)
    y, mo, d = now.year, now.month, now.day
    hh, mi, ss, us = now.hour, now.minute, now.second, now.microsecond
    rel = {
        "years": 0,
        "months": 0,
        "days": 0,
        "hours": 0,
        "minutes": 0,
        "seconds": 0,
        "microseconds": 0,
        "weekdays": 0,
    }
    first_last: str | None = None
    weekday: tuple[int, int] | None = None  # (weekday, behaviour: 0 this/next-or-today, 1 next, -1 last)
    time_set = date_set = False
    reset_time = False
    zone: tzinfo | None = None
    ts: float | None = None
    pos = 0
    while pos < len(s):
        m = re.compile(r"[\s,]+").match(s, pos)
        if m:
            pos = m.end()
            if pos >= len(s):
                break
        kind = ""
        for pattern_kind, rx in _PATTERNS:
            m = rx.match(s, pos)
            if m:
                kind = pattern_kind
                break
        if m is None:
            raise _fail(text, pos)
        g = m.groupdict()
        if kind == "timestamp":
            ts = float(g["ts"])
            zone = UTC
        elif kind in ("iso", "ymd_slash", "us", "dmy", "isocompact"):
            y = int(g["y"]) if g.get("y") else y
            if g.get("y") and len(g["y"]) == 2:
                y += 2000 if y < 70 else 1900
            mo, d = int(g["m"]), int(g["d"])
            date_set = True
            if not time_set:
                hh = mi = ss = us = 0
            if g.get("H"):
                hh, mi, ss, us, time_set = int(g["H"]), int(g["M"]), int(g["S"]), 0, True
            if kind == "iso" and m.end() < len(s) and s[m.end()] == "t":
                pos = m.end() + 1
                continue
        elif kind in ("time", "time12"):
            hh = int(g["H"])
            mi = int(g.get("M") or 0)
            ss = int(g.get("S") or 0)
            frac = g.get("F")
            us = int((frac + "000000")[:6]) if frac else 0
            ampm = g.get("ampm")
            if ampm:
                if hh > 12 or hh == 0:
                    raise _fail(text, pos)
                hh = hh % 12 + (12 if ampm.startswith("p") else 0)
            if hh > 24 or mi > 59 or ss > 60:
                raise _fail(text, pos)
            time_set = True
        elif kind in ("textdate", "textdate2"):
            mo, d = _MONTH_IDX[g["mon"]], int(g["d"])
            if g.get("y"):
                y = int(g["y"])
            date_set = True
            if not time_set:
                hh = mi = ss = us = 0
        elif kind == "monthname":
            mo = _MONTH_IDX[g["mon"]]
            if g.get("y"):
                y = int(g["y"])
            if first_last is None:
                d = 1 if g.get("y") else d
            date_set = True
            if not time_set:
                hh = mi = ss = us = 0
        elif kind == "year":
            y = int(g["y"])
        elif kind == "firstlast":
            first_last = g["fl"]
        elif kind == "ordinal_wd":
            raise _fail(text, pos)
        elif kind in ("rel", "rel_text"):
            if kind == "rel":
                num = int(g["n"].replace(" ", ""))
            else:
                num = _ORDINALS[g["o"]]
            unit = g["unit"]
            if unit in _DAY_ABBR:
                wd = _DAY_ABBR[unit]
                if kind == "rel_text" and g["o"] in ("next", "last", "previous", "this"):
                    weekday = (wd, {"next": 1, "last": -1, "previous": -1, "this": 0}[g["o"]])
                else:
                    weekday = (wd, 0)
                    rel["days"] += 7 * (num - 1 if num > 0 else num)
                if not time_set:
                    reset_time = True
            else:
                name = _UNITS[unit]
                if name == "fortnights":
                    rel["days"] += 14 * num
                elif name == "weeks":
                    rel["days"] += 7 * num
                elif name == "milliseconds":
                    rel["microseconds"] += 1000 * num
                else:
                    rel[name] += num
        elif kind == "ago":
            for k in rel:
                rel[k] = -rel[k]
        elif kind == "word":
            w = g["w"]
            if w == "tomorrow":
                rel["days"] += 1
            elif w == "yesterday":
                rel["days"] -= 1
            if w != "now" and not time_set:
                reset_time = True
                if w == "noon":
                    hh, mi, ss, us = 12, 0, 0, 0
                    time_set = True
                    reset_time = False
        elif kind == "weekday":
            weekday = (_DAY_ABBR[g["wd"]], 0)
            if not time_set:
                reset_time = True
        elif kind == "tz":
            zone = get_timezone(g["tz"] if "/" not in g["tz"] else _find_zone(text, g["tz"]))
        pos = m.end()

    if ts is not None:
        whole = int(ts // 1)
        dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            seconds=whole, microseconds=round((ts - whole) * 1e6)
        )
        if any(rel.values()) or weekday or first_last:
            return _apply(dt.replace(tzinfo=None), rel, first_last, weekday, reset_time, UTC)
        return dt
    target = zone or tz
    if zone is not None and not date_set and not time_set:
        local = base.astimezone(zone) if base is not None else datetime.now(zone)
        y, mo, d, hh, mi, ss, us = (
            local.year,
            local.month,
            local.day,
            local.hour,
            local.minute,
            local.second,
            local.microsecond,
        )
    if reset_time and not time_set:
        hh = mi = ss = us = 0
    try:
        extra_day = 0
        if hh == 24:
            hh, extra_day = 0, 1
        naive = datetime(y, mo, 1, hh, mi, min(ss, 59)) + timedelta(days=d - 1 + extra_day, microseconds=us)
    except (ValueError, OverflowError):
        raise _fail(text, 0) from None
    if d > calendar.monthrange(y, mo)[1] and not date_set:
        pass
    return _apply(
        naive, rel, first_last, weekday, reset_time, target, day_field=(y, mo, d) if first_last else None
    )


def _find_zone(text: str, lowered: str) -> str:
    m = re.search(re.escape(lowered), text, re.I)
    return m.group(0) if m else lowered


def _apply(
    naive: datetime,
    rel: dict[str, int],
    first_last: str | None,
    weekday: tuple[int, int] | None,
    reset_time: bool,
    tz: tzinfo,
    day_field: tuple[int, int, int] | None = None,
) -> datetime:
    try:
        y, mo, d = naive.year, naive.month, naive.day
        total = y * 12 + (mo - 1) + rel["months"] + 12 * rel["years"]
        y, mo = divmod(total, 12)
        mo += 1
        if first_last == "first":
            d = 1
        elif first_last == "last":
            d = calendar.monthrange(y, mo)[1]
        if reset_time:
            t = timedelta(0)
        else:
            t = timedelta(
                hours=naive.hour, minutes=naive.minute, seconds=naive.second, microseconds=naive.microsecond
            )
        out = datetime(y, mo, 1) + timedelta(days=d - 1 + rel["days"]) + t
        out += timedelta(
            hours=rel["hours"],
            minutes=rel["minutes"],
            seconds=rel["seconds"],
            microseconds=rel["microseconds"],
        )
        if rel["weekdays"]:
            step = 1 if rel["weekdays"] > 0 else -1
            left = abs(rel["weekdays"])
            while left:
                out += timedelta(days=step)
                if out.weekday() < 5:
                    left -= 1
        if weekday is not None:
            wd, how = weekday
            cur = out.weekday()
            if how == 1:
                delta = (wd - cur) % 7 or 7
            elif how == -1:
                delta = -((cur - wd) % 7 or 7)
            else:
                delta = (wd - cur) % 7
            out += timedelta(days=delta)
    except (ValueError, OverflowError):
        raise TwigRuntimeError("The date is out of range.") from None
    return out.replace(tzinfo=tz) if not isinstance(tz, ZoneInfo) else out.replace(tzinfo=tz, fold=0)


def convert(value: Any, tz_arg: Any, default_tz: str) -> TwigDate:
    """Twig's ``CoreExtension::convertDate``: any date-ish value -> TwigDate in the wanted zone.

    ``tz_arg`` is None (use the default zone), False (keep the value's own zone) or a zone name.
    """
    from .runtime import to_str

    target: tzinfo | None = None
    if tz_arg is not False:
        target = get_timezone(default_tz if tz_arg is None else tz_arg)
    default = get_timezone(default_tz)
    if isinstance(value, TwigDate):
        return value.set_timezone(target) if target is not None else value
    if isinstance(value, datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=default)
        return TwigDate(dt.astimezone(target) if target is not None else dt)
    if isinstance(value, date):
        dt = datetime(value.year, value.month, value.day, tzinfo=default)
        return TwigDate(dt.astimezone(target) if target is not None else dt)
    if value is None or value == "now":
        return TwigDate(datetime.now(target or default))
    if isinstance(value, bool):
        value = int(value)
    s = to_str(value) if not isinstance(value, float) else repr(value)
    if re.fullmatch(r"-?\d+", s):
        try:
            dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(s))
        except OverflowError:
            raise TwigRuntimeError(f"Failed to parse time string (@{s}).") from None
    elif isinstance(value, float):
        dt = parse_datetime("@" + s, default)
    else:
        dt = parse_datetime(s, default)
    return TwigDate(dt.astimezone(target) if target is not None else dt)
