"""The source form offers exactly the types a synchronisation can read, shows each
type's own settings, takes an uploaded file, and its Test shows the first records."""

from __future__ import annotations

import html
import re

from openconnector.connector.entities import EntityService


def _new(browser, name, kind, fake_api=None):
    response = browser.post("/sources", {"name": name, "type": kind, "description": ""})
    assert response.status_code == 303, response.text
    return response.headers["location"].split("?")[0].rsplit("/", 1)[1]


def _save(browser, ref, **fields):
    data = {"name": "S", "type": "api", "location": "", "auth": "none", "isEnabled": "1", **fields}
    return browser.post(f"/sources/{ref}", data)


def test_only_working_types_are_offered(browser):
    page = browser.get("/sources/new").text
    offered = re.findall(r'<option value="([a-z]+)"', page)
    assert offered == ["api", "xml", "soap", "csv", "jsonl", "xlsx", "dcat"]
    refused = browser.post("/sources", {"name": "x", "type": "database", "description": ""})
    assert refused.status_code == 400


def test_each_type_shows_its_own_settings_and_keeps_the_others(browser, context):
    ref = _new(browser, "Zaken", "soap")
    page = browser.get(f"/sources/{ref}").text
    assert 'name="config.wsdl"' in page and 'name="config.delimiter"' not in page
    saved = _save(
        browser,
        ref,
        name="Zaken",
        type="soap",
        location="http://127.0.0.1:1/soap",
        **{"config.wsdl": "http://127.0.0.1:1/soap?wsdl", "config.detailConcurrency": "4"},
    )
    assert saved.status_code == 303, saved.text
    stored = EntityService("source", context).get(ref)["configuration"]
    assert stored["wsdl"] == "http://127.0.0.1:1/soap?wsdl" and stored["detailConcurrency"] == "4"
    # switching to csv shows csv's fields; the soap settings stay stored
    assert (
        _save(browser, ref, name="Zaken", type="csv", location="http://127.0.0.1:1/a.csv").status_code == 303
    )
    page = browser.get(f"/sources/{ref}").text
    assert 'name="config.delimiter"' in page and 'name="config.wsdl"' not in page
    assert EntityService("source", context).get(ref)["configuration"]["wsdl"]


def test_an_uploaded_csv_is_tested_with_its_first_five_records(browser, context):
    ref = _new(browser, "Besluiten", "csv")
    assert 'type="file"' in browser.get(f"/sources/{ref}").text
    rows = "nr;titel\n" + "".join(f"{i};Besluit <{i}>\n" for i in range(1, 9))
    response = browser.client.post(
        f"/sources/{ref}/file",
        data={"csrf_token": browser.csrf},
        files={"file": ("besluiten.csv", rows.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert EntityService("source", context).get(ref)["location"] == "upload:besluiten.csv"
    page = browser.get(f"/sources/{ref}").text
    assert 'value="upload:besluiten.csv"' in page
    test = browser.post(f"/sources/{ref}/test", {"endpoint": ""})
    text = html.unescape(test.text)
    assert "8 records on the first page, found at <code>csv rows of besluiten.csv</code>" in text
    assert "Besluit <5>" not in test.text  # source data is escaped
    assert "<td>Besluit &lt;5&gt;</td>" in test.text and "Besluit &lt;6&gt;" not in test.text
    assert '<th scope="col">titel</th>' in test.text


def test_an_api_test_shows_where_the_records_are(browser, fake_api):
    ref = _new(browser, "Pets", "api")
    assert _save(browser, ref, name="Pets", location=fake_api.url).status_code == 303
    test = html.unescape(browser.post(f"/sources/{ref}/test", {"endpoint": "/paged/next?style=hal"}).text)
    assert "10 records on the first page, found at <code>_embedded.records</code>" in test
