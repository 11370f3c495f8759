"""The contract store's queries at sizes a run really reaches."""

from __future__ import annotations

from openconnector.connector.contracts import ContractStore
from openconnector.store.ids import new_uuid
from openconnector.store.statements import run_statements


def test_deletes_find_unseen_contracts_past_tens_of_thousands_of_skipped_pages(any_context):
    """A run of a source with small pages can skip more pages whole than PostgreSQL
    (65,535) or SQLite (32,766 unless built with more) take as separate parameters;
    the delete step must still work."""
    store = ContractStore(new_uuid())
    earlier, run_started = "2026-11-01T00:00:00+00:00", "2026-11-29T00:00:00+00:00"
    skipped = [f"{n:032x}" for n in range(70_000)]
    rows = [
        ("on-a-skipped-page", skipped[12_345]),  # seen: its page was skipped whole
        ("on-another-page", "f" * 32),  # not seen: its record is gone
        ("invalid-last-time", None),  # not seen, and never on a skippable page
    ]
    new = [(origin, "0" * 32, new_uuid()) for origin, _ in rows]
    with any_context.db.begin() as conn:
        for entry, (_, page) in zip(new, rows, strict=True):
            statements = store.write_statements(conn.dialect.name, [entry], [], "1" * 32, earlier, page)
            run_statements(conn, statements)
    with any_context.db.connect() as conn:
        unseen = store.unseen_targets(conn, run_started, skipped)
        assert sorted(r.origin_id for r in unseen) == ["invalid-last-time", "on-another-page"]
        assert {r.target_id for r in unseen} == {target for _, _, target in new[1:]}
        # without skipped pages, every contract checked before the run is unseen
        assert len(store.unseen_targets(conn, run_started)) == 3
        # checked during this run: seen
        assert store.unseen_targets(conn, earlier, skipped) == []


def test_a_test_run_counts_would_be_deletes_across_more_contracts_than_one_batch(any_context):
    """A test run reports how many records a real run would delete; the count reads the
    contracts 5,000 at a time, so a synchronisation with more must add up every batch."""
    store = ContractStore(new_uuid())
    other = ContractStore(new_uuid())  # another synchronisation's contracts never count
    entries = [(f"record-{n}", "0" * 32, new_uuid()) for n in range(12_003)]
    with any_context.db.begin() as conn:
        dialect = conn.dialect.name
        run_statements(
            conn, store.write_statements(dialect, entries, [], "1" * 32, "2026-11-01T00:00:00+00:00")
        )
        run_statements(
            conn, other.write_statements(dialect, entries[:10], [], "1" * 32, "2026-11-01T00:00:00+00:00")
        )
    seen = {origin for origin, _, _ in entries[:5_000]} | {origin for origin, _, _ in entries[-2:]}
    with any_context.db.connect() as conn:
        assert store.count_missing(conn, seen) == 12_003 - 5_002  # vanished in every batch
        assert store.count_missing(conn, {origin for origin, _, _ in entries}) == 0
        assert other.count_missing(conn, set()) == 10
