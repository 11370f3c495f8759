"""Promise: the public catalog's response time does not tell hidden ids from unknown ones.

An unpublished dataset, an undated one, an object of a register outside the catalog
and an id nobody has all answer the same 404, and take the same time (within
noise). Before, a hidden id ran one more query than an unknown one: about 40%
slower, enough to find which ids exist by timing alone.

Each comparison interleaves the two kinds of request and compares the median of
the pairwise differences with the median time itself, so a slow moment of a
loaded machine slows both sides alike.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from openconnector.catalog.woo import install_woo
from openconnector.connector.entities import EntityService
from openconnector.register.objects import ObjectService

API = "/index.php/apps/opencatalogi/api/publications"
PAIRS = 120
WARM_UP = 20


@pytest.fixture
def catalog(context) -> dict[str, str]:
    install_woo(context)
    now = datetime.now(UTC)
    rows = [
        {"title": f"Dataset {i}", "publicatiedatum": (now + timedelta(days=1 if i % 2 else -1)).isoformat()}
        for i in range(1000)
    ]
    saved = ObjectService(context).save_objects([*rows, {"title": "Undated"}], "dcat", "dataset")
    source = EntityService("source", context).create({"name": "Elsewhere", "location": "https://example.org"})
    return {"unpublished": saved[1]["id"], "undated": saved[-1]["id"], "another register": source["uuid"]}


def _time(client, object_id: str) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = client.get(f"{API}/{object_id}", auth=None)
    elapsed = time.perf_counter() - started
    assert response.status_code == 404, response.text
    return elapsed


@pytest.mark.parametrize("kind", ["unpublished", "undated", "another register"])
def test_a_hidden_id_takes_as_long_as_an_unknown_one(client, catalog, kind: str) -> None:
    hidden = catalog[kind]
    for _ in range(WARM_UP):
        _time(client, hidden)
        _time(client, str(uuid.uuid4()))
    differences, unknown = [], []
    for i in range(PAIRS):
        if i % 2:  # alternate which goes first
            h, u = _time(client, hidden), _time(client, str(uuid.uuid4()))
        else:
            u, h = _time(client, str(uuid.uuid4())), _time(client, hidden)
        differences.append(h - u)
        unknown.append(u)
    difference, typical = statistics.median(differences), statistics.median(unknown)
    allowed = 0.15 * typical + 0.0001
    assert abs(difference) <= allowed, (
        f"{kind}: a hidden id answers {difference * 1000:+.2f} ms later than an unknown one "
        f"(median of {typical * 1000:.2f} ms; allowed ±{allowed * 1000:.2f} ms)"
    )


def test_hidden_and_unknown_ids_get_the_same_answer(client, catalog) -> None:
    unknown = str(uuid.uuid4())
    answers = {kind: client.get(f"{API}/{catalog[kind]}", auth=None).json() for kind in catalog}
    answers["unknown"] = client.get(f"{API}/{unknown}", auth=None).json()
    shapes = {
        kind: {k: str(v).replace(answer["id"], "<id>") for k, v in answer.items() if k != "id"}
        for kind, answer in answers.items()
    }
    assert len({str(sorted(shape.items())) for shape in shapes.values()}) == 1, shapes
