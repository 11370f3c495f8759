"""The UI side of save-time errors (issue 12, points 4 and 8): only working source
types offered, a Twig error shown beside its row, warnings of the mapping test, and
an honest source test."""

from __future__ import annotations

import re
import socket
from typing import Any

from openconnector.connector.entities import EntityService


def test_the_source_forms_offer_only_the_types_that_work(browser: Any) -> None:
    from openconnector.connector.checks import SOURCE_TYPES as ACCEPTED

    page = browser.get("/sources/new").text
    offered = re.findall(r'<option value="(\w+)"', page)
    assert offered == ["api", "xml", "soap", "csv", "jsonl", "xlsx", "dcat"]
    assert set(offered) <= set(ACCEPTED)  # nothing offered that a save then refuses


def test_the_mapping_page_shows_a_twig_error_beside_its_row(browser: Any, context: Any) -> None:
    mapping = EntityService("mapping", context).create({"name": "Rows"})
    form = [
        ("name", "Rows"),
        ("rule.target", "title"),
        ("rule.value", "{{ name }}"),
        ("rule.target", "summary"),
        ("rule.value", "{{ description|"),
        ("action", "save"),
    ]
    answer = browser.post(f"/mappings/{mapping['id']}", form)
    assert answer.status_code == 400
    assert re.search(
        r'<p class="error" id="r-err-1">Twig syntax error in mapping key &#39;summary&#39;', answer.text
    )


def test_the_mapping_page_shows_the_tests_warnings(browser: Any, context: Any) -> None:
    mapping = EntityService("mapping", context).create({"name": "Warned"})
    form = [
        ("name", "Warned"),
        ("rule.target", "title"),
        ("rule.value", "{{ nmae }}"),
        ("sample", '{"name": "Bella"}'),
        ("action", "test"),
    ]
    page = browser.post(f"/mappings/{mapping['id']}", form).text
    assert "<strong>title</strong>: title reads nmae, which the input does not have" in page


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_source_page_test_is_red_with_a_reason(browser: Any, context: Any, fake_api: Any) -> None:
    sources = EntityService("source", context)
    cases = {
        "draft": (sources.create({"name": "Draft"}, draft=True), "has no location"),
        "refused": (
            sources.create({"name": "Refused", "location": f"http://127.0.0.1:{_closed_port()}"}),
            "Connection refused",
        ),
        "tls": (
            sources.create({"name": "Tls", "location": fake_api.url.replace("http://", "https://")}),
            "TLS error",
        ),
    }
    for name, (source, reason) in cases.items():
        html = browser.post(
            f"/sources/{source['id']}/test", {"endpoint": ""}, headers={"HX-Request": "true"}
        ).text
        assert re.search(r'id="test-result" class="result bad', html), (name, html)
        assert reason in html, (name, html)
