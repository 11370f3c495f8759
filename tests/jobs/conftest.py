"""Fixtures for job tests: a local paged source that can be slow (see ``job_helpers.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:  # tests/ as a package or as rootdir-relative modules
    from .job_helpers import PagedSource
except ImportError:
    from job_helpers import PagedSource  # type: ignore[no-redef]


@pytest.fixture(scope="session")
def paged_source() -> Iterator[PagedSource]:
    source = PagedSource().start()
    yield source
    source.stop()
