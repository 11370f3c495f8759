"""Normalising date and date-time values before validation.

OpenRegister forgives the forms people and templates actually produce: Twig's
``"now"|date("Y-m-d H:i:s")`` gives ``2026-11-29 14:00:00`` (no ``T``, no
offset), forms give ``2026-11-29``, APIs give ``2026-11-29T14:00:00+01:00``.
All of them are accepted for a ``date-time`` property and stored in one
canonical form: UTC, ISO 8601, to the second (see ``openconnector.clock``).
Naive values are read in the server's configured timezone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..clock import iso

#: The stored form: UTC with an explicit ``+00:00`` offset.
CANONICAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00$")


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_datetime(value: str, timezone: str) -> datetime | None:
    """An aware datetime for ``value``, or None when it is not a date or date-time."""
    text = value.strip()
    if not text or not text[:1].isdigit():
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    if len(text) <= 10:  # a bare date means its first moment, local time
        moment = datetime.combine(moment.date(), time(0))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone))
    return moment


def normalise_datetime(value: object, timezone: str) -> object:
    """Canonical text for a parseable date-time; anything else is returned unchanged
    so that validation reports it with its original value."""
    if isinstance(value, str):
        return _normalise_text(value, timezone)
    return value


@lru_cache(maxsize=4096)
def _normalise_text(value: str, timezone: str) -> str:
    # A synchronisation writes the same "now" into thousands of records: cache it.
    if CANONICAL.match(value):
        return value
    moment = parse_datetime(value, timezone)
    return iso(moment) if moment is not None else value


def normalise_date(value: object, timezone: str) -> object:
    """``YYYY-MM-DD`` for any parseable date or date-time (its local date)."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                return value
        moment = parse_datetime(text, timezone)
        if moment is not None:
            return moment.astimezone(zone(timezone)).date().isoformat()
    return value
