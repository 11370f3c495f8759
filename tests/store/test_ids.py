"""New rows get time-ordered (version 7) uuids, so inserts append to the uuid indexes."""

from __future__ import annotations

import time
import uuid

from openconnector.store.ids import new_uuid, new_uuids


def test_new_uuids_are_standard_version_7_and_unique():
    made = [new_uuid() for _ in range(500)] + new_uuids(500)
    parsed = [uuid.UUID(u) for u in made]
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 for p in parsed)
    assert all(str(p) == u for p, u in zip(parsed, made, strict=True))  # canonical lower-case form
    assert len(set(made)) == 1000


def test_later_uuids_sort_after_earlier_ones():
    first = new_uuids(3)
    time.sleep(0.002)
    second = new_uuid()
    assert max(first) < second
    # the first 48 bits are the unix time in milliseconds
    assert abs(int(second.replace("-", "")[:12], 16) - time.time() * 1000) < 5000


def test_row_id_accepts_only_ascii_numbers_a_bigint_can_hold():
    from openconnector.store.ids import MAX_ROW_ID, row_id

    assert row_id("42") == 42
    assert row_id(" 7 ") == 7
    assert row_id(MAX_ROW_ID) == MAX_ROW_ID
    for ref in (str(MAX_ROW_ID + 1), "0", "-1", "1" * 5000, "\u00b2", "\u0661", "", None, "1e3", "0x10"):
        assert row_id(ref) is None, ref
