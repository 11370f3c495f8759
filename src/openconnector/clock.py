"""The one way openconnector reads the clock and writes timestamps.

Everything is stored as canonical UTC ISO 8601 text (``2026-11-29T13:00:00+00:00``):
fixed width and one offset, so SQL compares it correctly as a string on SQLite
and PostgreSQL alike, and the publication rule (``publicatiedatum <= now``) can be
a plain indexed comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Canonical text of an aware datetime, in UTC, to the second (micro-seconds only if set)."""
    if moment.tzinfo is None:
        raise ValueError("iso() needs a timezone-aware datetime")
    return moment.astimezone(UTC).isoformat()


def now_iso() -> str:
    return iso(utcnow().replace(microsecond=0))


def parse_iso(text: str) -> datetime:
    """Inverse of :func:`iso` (accepts a trailing ``Z`` as well)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
