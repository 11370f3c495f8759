"""Row identifiers: time-ordered uuids (RFC 9562 version 7).

Objects, contracts and logs are keyed by a uuid with a unique index. Random
(version 4) uuids land all over that index, so every page of 1,000 inserts
dirties most of its b-tree pages and a commit rewrites them all: on SQLite that
was half the time of a first synchronisation. A version 7 uuid starts with the
millisecond it was made, so new rows append at the end of the index. It is still
a standard uuid, unguessable in its 74 random bits.
"""

from __future__ import annotations

import os
import time

#: The first hex digit of a uuid's variant field: binary 10xx (RFC 9562).
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def new_uuid() -> str:
    """A version 7 uuid: 48 bits of unix milliseconds, then random bits."""
    return new_uuids(1)[0]


def new_uuids(count: int) -> list[str]:
    """``count`` version 7 uuids of this millisecond, in one go (a page of new rows)."""
    stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big").hex()
    head = f"{stamp[:8]}-{stamp[8:]}-7"
    noise = os.urandom(10 * count).hex()
    variant = _VARIANT
    return [
        f"{head}{noise[s : s + 3]}-{variant[noise[s + 3]]}{noise[s + 4 : s + 7]}-{noise[s + 7 : s + 19]}"
        for s in range(0, 20 * count, 20)
    ]


#: The largest row id a BIGINT (PostgreSQL) or INTEGER (SQLite) column can hold.
MAX_ROW_ID = 2**63 - 1
_ASCII_DIGITS = frozenset("0123456789")


def row_id(ref: object) -> int | None:
    """``ref`` as a numeric row id, or None when it cannot be one.

    Every route that accepts "an id, a uuid or a slug" asks this one function
    whether the reference is numeric. Only ASCII digits between 1 and 2^63 - 1
    qualify: ``str.isdigit()`` also says yes to ``²`` and ``١٢`` (which ``int()``
    rejects or the database never stores), and a number past 2^63 overflows
    the driver (a 500) where the user deserves a 404. Such references are then
    looked up as uuids or slugs, which finds nothing.
    """
    text = str(ref).strip() if ref is not None else ""
    if not text or len(text) > 19 or not _ASCII_DIGITS.issuperset(text):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ROW_ID else None
