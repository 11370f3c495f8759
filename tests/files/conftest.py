"""An object to attach files to (tests/files is on sys.path: helpers in woo_files.py)."""

from __future__ import annotations

import pytest
from woo_files import make_object


@pytest.fixture
def woo_object(any_context) -> dict:
    return make_object(any_context)


@pytest.fixture
def an_object(context) -> dict:
    """The same on SQLite only (tests that look at the data directory or settings)."""
    return make_object(context)
