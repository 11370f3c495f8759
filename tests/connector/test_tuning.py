"""A run raises the cyclic collector's threshold and shortens the GIL switch interval,
and puts both back, also when runs overlap or fail."""

from __future__ import annotations

import gc
import sys

import pytest

from openconnector.connector.tuning import RELAXED_THRESHOLD, SWITCH_INTERVAL, tuned_for_runs


def _tuned() -> bool:
    return gc.get_threshold()[0] >= RELAXED_THRESHOLD and sys.getswitchinterval() <= SWITCH_INTERVAL


def test_settings_hold_during_runs_and_are_restored_after_the_last():
    before = (gc.get_threshold(), sys.getswitchinterval())
    assert not _tuned()
    with tuned_for_runs():
        assert _tuned()
        with tuned_for_runs():  # a second run in another thread
            assert _tuned()
        assert _tuned()  # the first is still going
    assert (gc.get_threshold(), sys.getswitchinterval()) == before


def test_settings_are_restored_when_a_run_fails():
    before = (gc.get_threshold(), sys.getswitchinterval())
    with pytest.raises(RuntimeError), tuned_for_runs():
        raise RuntimeError("boom")
    assert (gc.get_threshold(), sys.getswitchinterval()) == before
