"""A run raises the cyclic collector's threshold and puts it back, also when runs overlap."""

from __future__ import annotations

import gc

import pytest

from openconnector.connector.collector import RELAXED_THRESHOLD, relaxed_gc


def test_the_threshold_is_raised_during_runs_and_restored_after_the_last():
    before = gc.get_threshold()
    with relaxed_gc():
        assert gc.get_threshold()[0] >= RELAXED_THRESHOLD
        with relaxed_gc():  # a second run in another thread
            assert gc.get_threshold()[0] >= RELAXED_THRESHOLD
        assert gc.get_threshold()[0] >= RELAXED_THRESHOLD  # the first is still going
    assert gc.get_threshold() == before


def test_the_threshold_is_restored_when_a_run_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), relaxed_gc():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
