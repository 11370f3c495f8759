"""Fixtures for connector tests, reusable by synchronisation tests.

``fake_api`` (defined in ``tests/conftest.py``, so every test directory has
it): a real HTTP server on 127.0.0.1 (``tests/connector/fake_api.py``
documents its endpoints and controls), started once per session; its state
(pets, records, credentials, counters, request log) is reset for every test::

    def test_pets_are_fetched(fake_api):
        source = fake_api.source(location=fake_api.url + "/api/v3")
        result = CallService().call(source, "/pet/findByStatus?status=available")
        assert len(result.json()) == 8

``calls``: a ``CallService`` whose ``sleep`` only records the delays (no
waiting) and whose call logs are kept in ``calls.logs``; ``calls.sleeps``
lists the requested delays, ``calls.now`` is the injected clock (advance it by
assigning).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from openconnector.connector.call import CallService


class RecordingCallService(CallService):
    """A ``CallService`` that keeps its logs, sleeps and state changes for assertions."""

    def __init__(self, **kwargs: Any) -> None:
        self.logs: list[dict[str, Any]] = []
        self.sleeps: list[float] = []
        self.states: list[dict[str, Any]] = []
        self.now = time.time()
        kwargs.setdefault("log_sink", self.logs.append)
        kwargs.setdefault("sleep", self._sleep)
        kwargs.setdefault("clock", lambda: self.now)
        kwargs.setdefault("source_state_sink", lambda source, state: self.states.append(dict(state)))
        super().__init__(**kwargs)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def calls() -> Iterator[RecordingCallService]:
    service = RecordingCallService()
    yield service
    service.close()
