"""Per-source rate-limit state from ``X-RateLimit-*`` headers, and ``Retry-After``.

An API that limits callers answers like this::

    HTTP/1.1 200 OK
    X-RateLimit-Limit: 100
    X-RateLimit-Remaining: 0
    X-RateLimit-Reset: 1767225600        (unix time; small numbers are "seconds from now")

The values are copied onto the source (``rateLimitLimit``,
``rateLimitRemaining``, ``rateLimitReset``, ``rateLimitWindow``, as in the
original) so the next call knows to wait: ``check`` returns how long. Header
names are matched in any case, and the IETF draft's ``RateLimit-*`` names
work too.

Where the original differs: it refused the call whenever ``remaining <= 0``
even without a known reset time (a source stuck for ever); we only hold back
while the reset lies in the future.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = [
    "RATE_LIMIT_FIELDS",
    "check",
    "number",
    "parse_retry_after",
    "rate_limit_state",
    "update_from_headers",
]

RATE_LIMIT_FIELDS = ("rateLimitLimit", "rateLimitRemaining", "rateLimitReset", "rateLimitWindow")

_HEADER_NAMES = {
    "rateLimitLimit": ("x-ratelimit-limit", "ratelimit-limit"),
    "rateLimitRemaining": ("x-ratelimit-remaining", "ratelimit-remaining"),
    "rateLimitReset": ("x-ratelimit-reset", "ratelimit-reset"),
}

# Reset values below this are relative ("seconds until reset"), above it
# absolute unix timestamps (2001-09-09); APIs use both conventions.
_EPOCH_THRESHOLD = 1_000_000_000


def rate_limit_state(source: Mapping[str, Any]) -> dict[str, Any]:
    """The rate-limit fields of a source, to persist."""
    return {name: source.get(name) for name in RATE_LIMIT_FIELDS}


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple):
        return _number(value[0]) if value else None
    text = str(value).split(",")[0].strip()
    try:
        return float(text)
    except ValueError:
        return None


def check(source: MutableMapping[str, Any], now: float, in_flight: int = 0) -> float:
    """Seconds to wait before the next call may be sent (0.0: go now).

    ``in_flight`` calls already sent (pages fetched at once) use up the remaining
    allowance before their answers update it. Clears
    ``rateLimitReset``/``rateLimitRemaining`` once the reset time has passed (a new window).
    """
    reset = _number(source.get("rateLimitReset"))
    if reset is not None and reset <= now:
        source["rateLimitReset"] = None
        source["rateLimitRemaining"] = None
        return 0.0
    remaining = _number(source.get("rateLimitRemaining"))
    if remaining is not None and remaining - in_flight <= 0 and reset is not None:
        return reset - now
    return 0.0


def number(value: Any) -> float | None:
    """A header or field value as a number (``"100"``, ``["100"]``, ``"100, 10;w=1"``), else None."""
    return _number(value)


def _header(headers: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def update_from_headers(source: MutableMapping[str, Any], headers: Mapping[str, Any], now: float) -> bool:
    """Copy rate-limit headers onto ``source``; True when a field changed.

    Like the original: without a reset header but with ``rateLimitWindow`` the
    reset becomes now + window; without a remaining header but with
    ``rateLimitLimit`` the remaining count goes down by one per call.
    """
    before = rate_limit_state(source)
    limit = _number(_header(headers, _HEADER_NAMES["rateLimitLimit"]))
    remaining = _number(_header(headers, _HEADER_NAMES["rateLimitRemaining"]))
    reset = _number(_header(headers, _HEADER_NAMES["rateLimitReset"]))
    if limit is not None:
        source["rateLimitLimit"] = int(limit)
    if reset is not None:
        source["rateLimitReset"] = int(reset if reset >= _EPOCH_THRESHOLD else now + reset)
    elif source.get("rateLimitWindow") and _number(source.get("rateLimitReset")) is None:
        window = _number(source.get("rateLimitWindow"))
        if window:
            source["rateLimitReset"] = int(now + window)
    if remaining is not None:
        current = _number(before["rateLimitRemaining"])
        same_window = reset is not None and _number(before["rateLimitReset"]) == source.get("rateLimitReset")
        # Answers to pages fetched at once arrive in any order: within one window the
        # allowance only shrinks, so an older answer's higher count is not taken back.
        if not (same_window and current is not None and current < remaining):
            source["rateLimitRemaining"] = int(remaining)
    elif source.get("rateLimitLimit") is not None:
        current = _number(source.get("rateLimitRemaining"))
        base = current if current is not None else _number(source.get("rateLimitLimit"))
        if base is not None:
            source["rateLimitRemaining"] = int(base) - 1
    return rate_limit_state(source) != before


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)
