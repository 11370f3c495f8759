"""Finished runs stay explorable and say what happened (issue 12, points 2 and 10).

A run's page is built from its stored log, so it is there after the server
forgot the run (a restart, another process, a scheduled run): counts, timing,
stop reason, invalid records, and a badge whose colour matches the status.
Call logs filter by status code in the forms the Logs page offers.
"""

from __future__ import annotations

import re
from typing import Any

from test_run_status import make_sync  # tests/connector is on sys.path

from openconnector.connector.logs import CallLogWriter, LogService
from openconnector.connector.sync import SynchronizationService
from openconnector.context import Context

API = "/index.php/apps/openconnector/api"


def test_a_finished_run_has_a_page_with_everything_it_did(
    browser: Any, context: Context, make_dcat: Any, fake_api: Any
) -> None:
    make_dcat(context)
    sync = make_sync(context, fake_api, [2])
    log = SynchronizationService(context).synchronize(sync["id"])
    page = browser.get(f"/logs/runs/{log['uuid']}")
    assert page.status_code == 200
    html = page.text
    assert '<span class="badge warn">warning</span>' in html
    assert "Completed with 1 invalid of 4 records" in html
    counts = dict(re.findall(r'<dd data-count="(\w+)">(\d+)</dd>', html))
    assert counts == {
        "found": "4",
        "created": "3",
        "updated": "0",
        "skipped": "0",
        "invalid": "1",
        "deleted": "0",
    }
    assert re.search(r'data-fact="stopReason">[^<]+<', html)
    assert "<strong>2</strong>: Schema validation failed" in html
    assert f"{log['executionTime']} ms" in html
    # the REST log is the same run
    assert (
        browser.client.get(f"{API}/synchronizations/logs/{log['uuid']}", auth=("admin", "admin")).json()[
            "result"
        ]["objects"]["invalid"]
        == 1
    )


def test_the_runs_table_shows_every_count_and_the_status_colours(
    browser: Any, context: Context, make_dcat: Any, fake_api: Any
) -> None:
    make_dcat(context)
    service = SynchronizationService(context)
    for invalid in ([1, 2, 3, 4], [2], []):
        service.synchronize(make_sync(context, fake_api, invalid)["id"])
    html = browser.get("/logs?kind=runs").text
    assert '<th scope="col" class="num">Deleted</th>' in html
    assert [m for m in re.findall(r'<span class="badge (\w+)">(\w+)</span>', html)] == [
        ("ok", "success"),
        ("warn", "warning"),
        ("bad", "error"),
    ]
    only_warnings = browser.get("/logs?kind=runs&status=warning").text
    assert re.findall(r'<span class="badge \w+">(\w+)</span>', only_warnings) == ["warning"]


def test_an_unknown_run_is_a_not_found_page(browser: Any) -> None:
    assert browser.get("/logs/runs/0190e8a0-0000-7000-8000-000000000000").status_code == 404


def _calls(context: Context, codes: list[int]) -> None:
    writer = CallLogWriter(context)
    for code in codes:
        writer(
            {"statusCode": code, "statusMessage": str(code), "request": {"method": "GET", "url": "http://x/"}}
        )


def test_call_logs_filter_by_status_code_ranges_classes_and_lists(client: Any, context: Context) -> None:
    _calls(context, [200, 201, 302, 400, 404, 429, 500, 503])

    def codes(value: str) -> list[int]:
        answer = client.get(f"{API}/sources/logs", params={"statusCode": value, "_limit": "50"})
        assert answer.status_code == 200, answer.text
        return sorted(r["statusCode"] for r in answer.json()["results"])

    assert codes("400,599") == [400, 404, 429, 500, 503]  # the original's MIN,MAX
    assert codes("4xx") == [400, 404, 429]
    assert codes("500-599") == [500, 503]
    assert codes("404,429,503") == [404, 429, 503]
    assert codes("2xx,302") == [200, 201, 302]
    assert sorted(
        r["statusCode"] for r in LogService(context).call_logs([("status_code", "404")])["results"]
    ) == [404]
    bad = client.get(f"{API}/sources/logs", params={"statusCode": "teapot"})
    assert bad.status_code == 400 and "4xx" in bad.json()["message"]


def test_the_logs_page_filters_calls_by_status_class(browser: Any, context: Context) -> None:
    _calls(context, [200, 404, 500])
    html = browser.get("/logs?kind=calls&status_code=5xx").text
    assert re.findall(r'<span class="badge \w+">(\d+)</span>', html) == ["500"]
