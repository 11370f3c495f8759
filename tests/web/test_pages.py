"""The pages as a user meets them: forms that validate beside the field, write-only
secrets, data from sources shown as text, the tutorial's objects wired together."""

from __future__ import annotations

import json
import re
import time

import pytest

from openconnector.connector.entities import EntityService
from openconnector.register.objects import ObjectService

XSS = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def _id_from(response) -> str:
    return response.headers["location"].split("?")[0].rsplit("/", 1)[1]


def _source(browser, **fields) -> str:
    response = browser.post("/sources", {"name": "Pet Store", "type": "api", "description": "", **fields})
    assert response.status_code == 303, response.text
    return _id_from(response)


def test_the_dashboard_counts_each_piece_and_draws_both_charts(browser):
    _source(browser)
    page = browser.get("/").text
    assert re.search(r'<span class="number">1</span>\s*<span class="label">Sources</span>', page)
    for label in ("Mappings", "Synchronisations", "Contracts", "Jobs", "Endpoints"):
        assert f'<span class="label">{label}</span>' in page
    assert "Calls per day" in page and "Synchronisation results per day" in page


def test_adding_a_source_without_a_name_shows_the_error_beside_the_field(browser):
    response = browser.post("/sources", {"name": "", "type": "api"})
    assert response.status_code == 400
    assert re.search(r'id="f-name"[^>]*aria-invalid="true"', response.text)
    assert '<p class="error" id="f-name-err">Give it a name.</p>' in response.text


def test_a_source_location_must_be_a_full_url(browser):
    ref = _source(browser)
    response = browser.post(
        f"/sources/{ref}", {"name": "Pet Store", "type": "api", "location": "petstore", "auth": "none"}
    )
    assert response.status_code == 400
    assert "Enter a full http:// or https:// address" in response.text


def test_the_source_list_searches_by_name(browser):
    _source(browser, name="Pet Store")
    _source(browser, name="Case system")
    page = browser.get("/sources?q=case").text
    assert "Case system" in page and "Pet Store" not in page


@pytest.mark.parametrize(
    ("path", "noun", "plural"),
    [
        ("/sources", "source", "sources"),
        ("/mappings", "mapping", "mappings"),
        ("/synchronizations", "synchronisation", "synchronisations"),
    ],
)
def test_each_list_page_offers_add_and_search_and_says_when_it_is_empty(browser, path, noun, plural):
    empty = browser.get(path).text
    assert f'href="{path}/new">Add {noun}</a>' in empty
    assert f'<label for="q">Search {plural}</label>' in empty
    assert f"No {plural} yet" in empty and "<table" not in empty
    assert f"No {noun} matches “zebra”." in browser.get(f"{path}?q=zebra").text


def test_source_secrets_are_write_only_and_kept_when_left_empty(browser):
    ref = _source(browser)
    save = {
        "name": "Pet Store",
        "type": "api",
        "location": "https://example.org/api",
        "auth": "basic",
        "auth.username": "alice",
        "isEnabled": "1",
    }
    assert browser.post(f"/sources/{ref}", {**save, "auth.password": "hunter2-secret"}).status_code == 303
    page = browser.get(f"/sources/{ref}").text
    assert "hunter2-secret" not in page and "enc:v1" not in page
    assert re.search(r'Password <span class="secret-state set">set</span>', page)
    assert 'value="alice"' in page
    assert browser.post(f"/sources/{ref}", {**save, "auth.password": ""}).status_code == 303
    context = browser.client.app.state.context
    stored = EntityService("source", context).get_with_secrets(ref)
    assert stored["authenticationConfig"] == {"username": "alice", "password": "hunter2-secret"}
    browser.post(f"/sources/{ref}", {**save, "auth.password.clear": "1"})
    assert "password" not in EntityService("source", context).get_with_secrets(ref)["authenticationConfig"]
    assert re.search(
        r'Password <span class="secret-state unset">not set</span>', browser.get(f"/sources/{ref}").text
    )


def test_choosing_another_auth_method_swaps_in_its_fields(browser):
    ref = _source(browser)
    fragment = browser.get(f"/sources/{ref}/auth-fields?auth=oauth2").text
    for name in ("auth.tokenUrl", "auth.clientId", "auth.clientSecret", "auth.scope"):
        assert f'name="{name}"' in fragment
    assert 'type="password"' in browser.get(f"/sources/{ref}/auth-fields?auth=bearer").text


def test_secret_headers_are_write_only_too(browser):
    ref = _source(browser)
    form = [
        ("name", "Pet Store"),
        ("type", "api"),
        ("auth", "none"),
        ("header.name", "Accept"),
        ("header.value", "application/json"),
        ("header.name", "X-Api-Key"),
        ("header.value", "k-123-secret"),
    ]
    assert browser.post(f"/sources/{ref}", form).status_code == 303
    page = browser.get(f"/sources/{ref}").text
    assert 'value="application/json"' in page and "k-123-secret" not in page
    assert '<span class="secret-state set">set</span>' in page


def test_testing_a_source_shows_status_time_and_the_response_in_green(browser, fake_api):
    ref = _source(browser)
    browser.post(
        f"/sources/{ref}",
        {
            "name": "Pet Store",
            "type": "api",
            "auth": "none",
            "location": fake_api.url + "/api/v3",
            "isEnabled": "1",
        },
    )
    fake_api.add_pet(XSS)
    response = browser.post(
        f"/sources/{ref}/test",
        {"endpoint": "/pet/findByStatus?status=available"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'class="result ok"' in response.text and "200" in response.text and " ms" in response.text
    assert XSS not in response.text and ESCAPED in response.text
    assert '"name": "Bella"' in response.text.replace("&#34;", '"')


def test_testing_an_unreachable_source_shows_red(browser):
    ref = _source(browser)
    browser.post(
        f"/sources/{ref}",
        {
            "name": "Pet Store",
            "type": "api",
            "auth": "none",
            "location": "http://127.0.0.1:9/nothing",
            "isEnabled": "1",
        },
    )
    response = browser.post(f"/sources/{ref}/test", {"endpoint": ""}, headers={"HX-Request": "true"})
    assert 'class="result bad"' in response.text


def _mapping(browser) -> str:
    response = browser.post("/mappings", {"name": "Pet to dataset"})
    assert response.status_code == 303
    return _id_from(response)


TUTORIAL_ROWS = [
    ("title", "{{ name }}"),
    ("category", "{{ category.name }}"),
    ("status", "Published"),
    ("publicatiedatum", '{{ "now"|date("Y-m-d H:i:s") }}'),
]


def _rows(rows) -> list[tuple[str, str]]:
    out = [("name", "Pet to dataset"), ("description", ""), ("unset", "")]
    for target, value in rows:
        out += [("rule.target", target), ("rule.value", value)]
    return out


def test_mapping_rows_can_be_added_and_removed_before_saving(browser):
    ref = _mapping(browser)
    page = browser.post(f"/mappings/{ref}", _rows(TUTORIAL_ROWS[:1]) + [("action", "add-rule")]).text
    assert page.count('name="rule.target"') == 2
    page = browser.post(f"/mappings/{ref}", _rows(TUTORIAL_ROWS) + [("action", "remove-rule:1")]).text
    assert page.count('name="rule.target"') == 3 and 'value="category"' not in page
    assert EntityService("mapping", browser.client.app.state.context).get(ref)["mapping"] == {}


def test_saving_a_mapping_stores_rows_unset_cast_and_pass_through(browser):
    ref = _mapping(browser)
    form = _rows(TUTORIAL_ROWS) + [
        ("cast.target", "status"),
        ("cast.value", "string"),
        ("passThrough", "1"),
        ("action", "save"),
    ]
    form = [(k, "id\ntags" if k == "unset" else v) for k, v in form]
    assert browser.post(f"/mappings/{ref}", form).status_code == 303
    stored = EntityService("mapping", browser.client.app.state.context).get(ref)
    assert stored["mapping"] == dict(TUTORIAL_ROWS)
    assert stored["unset"] == ["id", "tags"] and stored["cast"] == {"status": "string"}
    assert stored["passThrough"] is True
    page = browser.get(f"/mappings/{ref}").text
    assert 'value="{{ &#34;now&#34;|date(&#34;Y-m-d H:i:s&#34;) }}"' in page


def test_a_duplicate_target_field_is_flagged_on_its_row(browser):
    ref = _mapping(browser)
    response = browser.post(
        f"/mappings/{ref}", _rows([("title", "a"), ("title", "b")]) + [("action", "save")]
    )
    assert response.status_code == 400
    assert 'id="r-err-1"' in response.text and "already mapped" in response.text


def test_testing_a_mapping_shows_the_object_and_the_schema_errors_beside_the_rows(browser, dcat):
    ref = _mapping(browser)
    schema = ObjectService(dcat).resolve("dcat", "dataset")[1]
    sample = json.dumps({"name": XSS, "category": {"name": "Dogs"}})
    form = _rows(TUTORIAL_ROWS[:2] + [("status", "Gepubliceerd")]) + [
        ("sample", sample),
        ("schema", str(schema["id"])),
        ("action", "test"),
    ]
    page = browser.post(f"/mappings/{ref}", form).text
    assert 'id="mapping-result" class="result bad"' in page
    assert re.search(r'id="r-err-2">[^<]+</p>', page), "the enum error sits beside the status row"
    assert XSS not in page and ESCAPED in page
    assert "&#34;category&#34;: &#34;Dogs&#34;" in page


def test_a_mapping_can_fetch_its_sample_from_a_source(browser, fake_api):
    source = _source(browser)
    browser.post(
        f"/sources/{source}",
        {
            "name": "Pet Store",
            "type": "api",
            "auth": "none",
            "location": fake_api.url + "/api/v3",
            "isEnabled": "1",
        },
    )
    source_uuid = EntityService("source", browser.client.app.state.context).get(source)["uuid"]
    ref = _mapping(browser)
    page = browser.post(
        f"/mappings/{ref}",
        _rows(TUTORIAL_ROWS)
        + [
            ("sample_source", source_uuid),
            ("sample_endpoint", "/pet/findByStatus?status=available"),
            ("sample_position", "_root"),
            ("action", "fetch-sample"),
        ],
    ).text
    assert "&#34;name&#34;: &#34;Bella&#34;" in page


def _sync(browser) -> str:
    response = browser.post(
        "/synchronizations",
        {"name": "Pet store to datasets", "sourceType": "api", "targetType": "register/schema"},
    )
    assert response.status_code == 303
    return _id_from(response)


def _wire(browser, fake_api, dcat) -> tuple[str, dict]:
    context = browser.client.app.state.context
    source = _source(browser)
    browser.post(
        f"/sources/{source}",
        {
            "name": "Pet Store",
            "type": "api",
            "auth": "none",
            "location": fake_api.url + "/api/v3",
            "isEnabled": "1",
        },
    )
    mapping = _mapping(browser)
    browser.post(f"/mappings/{mapping}", _rows(TUTORIAL_ROWS) + [("action", "save")])
    register, schema = ObjectService(context).resolve("dcat", "dataset")
    ref = _sync(browser)
    form = {
        "name": "Pet store to datasets",
        "sourceType": "api",
        "targetType": "register/schema",
        "sourceId": EntityService("source", context).get(source)["uuid"],
        "sourceTargetMapping": EntityService("mapping", context).get(mapping)["uuid"],
        "register": str(register["id"]),
        "schema": str(schema["id"]),
        "endpoint": "/pet/findByStatus?status=available",
        "resultsPosition": "_root",
        "idPosition": "id",
    }
    response = browser.post(f"/synchronizations/{ref}", form)
    assert response.status_code == 303, response.text
    return ref, form


def test_a_synchronisation_stores_its_target_as_register_slash_schema(browser, fake_api, dcat):
    ref, form = _wire(browser, fake_api, dcat)
    stored = EntityService("synchronization", dcat).get(ref)
    assert stored["targetId"] == f"{form['register']}/{form['schema']}"
    assert stored["sourceConfig"] == {
        "endpoint": "/pet/findByStatus?status=available",
        "resultsPosition": "_root",
        "idPosition": "id",
        "usesPagination": False,
    }
    page = browser.get(f"/synchronizations/{ref}").text
    assert f'<option value="{form["schema"]}" selected>Dataset</option>' in page


def test_a_schema_must_belong_to_the_chosen_register(browser, dcat):
    ref = _sync(browser)
    response = browser.post(
        f"/synchronizations/{ref}",
        {"name": "S", "sourceType": "api", "targetType": "register/schema", "register": "1", "schema": "999"},
    )
    assert response.status_code == 400
    assert "Choose a schema of the chosen register." in response.text


def _wait_for_run(browser, ref: str, panel: str) -> str:
    run_url = re.search(r'hx-get="(/synchronizations/[^"]+/runs/[^"]+)"', panel)
    deadline = time.monotonic() + 30
    while run_url and time.monotonic() < deadline:
        panel = browser.get(run_url.group(1)).text
        if "every 500ms" not in panel:
            return panel
        time.sleep(0.1)
    return panel


def test_running_a_synchronisation_shows_progress_then_the_log(browser, fake_api, dcat):
    ref, _ = _wire(browser, fake_api, dcat)
    fake_api.add_pet(XSS)
    panel = browser.post(f"/synchronizations/{ref}/run", {"test": "0"}, headers={"HX-Request": "true"}).text
    panel = _wait_for_run(browser, ref, panel)
    assert 'data-count="found">9<' in panel and 'data-count="created">9<' in panel
    again = _wait_for_run(
        browser,
        ref,
        browser.post(f"/synchronizations/{ref}/run", {"test": "0"}, headers={"HX-Request": "true"}).text,
    )
    assert 'data-count="skipped">9<' in again
    listing = browser.get("/synchronizations").text
    assert '<span class="badge ok">success</span>' in listing
    objects = browser.get("/registers/dcat/schemas/dataset").text
    assert ESCAPED in objects and XSS not in objects
    runs = browser.get("/logs?kind=runs").text
    assert "Pet store to datasets" in runs
    assert browser.get("/logs?kind=calls").status_code == 200


def test_a_test_run_writes_nothing(browser, fake_api, dcat):
    ref, _ = _wire(browser, fake_api, dcat)
    panel = _wait_for_run(
        browser,
        ref,
        browser.post(f"/synchronizations/{ref}/run", {"test": "1"}, headers={"HX-Request": "true"}).text,
    )
    assert "Test run finished" in panel and 'data-count="found">8<' in panel
    assert ObjectService(dcat).count("dcat", "dataset") == 0


def test_an_incomplete_synchronisation_says_what_is_missing(browser, dcat):
    ref = _sync(browser)
    panel = _wait_for_run(
        browser,
        ref,
        browser.post(f"/synchronizations/{ref}/run", {"test": "0"}, headers={"HX-Request": "true"}).text,
    )
    assert "could not start" in panel and "sourceId" in panel


def test_scheduling_shows_the_next_run(browser, fake_api, dcat):
    ref, _ = _wire(browser, fake_api, dcat)
    assert browser.post(f"/synchronizations/{ref}/schedule", {"interval": "3600"}).status_code == 303
    page = browser.get(f"/synchronizations/{ref}").text
    assert re.search(r"<dt>Next run</dt><dd>\d{4}-\d\d-\d\d", page)
    response = browser.post(f"/synchronizations/{ref}/schedule", {"interval": "custom", "cron": "not a cron"})
    assert response.status_code == 400 and "is not a cron expression" in response.text
    assert (
        browser.post(
            f"/synchronizations/{ref}/schedule", {"interval": "custom", "cron": "0 6 * * *"}
        ).status_code
        == 303
    )
    assert "<dd>0 6 * * *</dd>" in browser.get(f"/synchronizations/{ref}").text


@pytest.mark.parametrize("kind", ["calls", "runs", "jobs"])
def test_a_bad_log_filter_shows_a_message_not_an_error_page(browser, kind):
    response = browser.get(f"/logs?kind={kind}&date_from=yesterday")
    assert response.status_code == 200
    assert 'class="notice bad"' in response.text


def test_objects_can_be_searched_filtered_and_paged(browser, dcat):
    objects = ObjectService(dcat)
    for i in range(25):
        objects.save_object(
            {"title": f"Pet {i:02}", "category": "Dogs" if i % 2 else "Cats", "status": "Published"},
            "dcat",
            "dataset",
        )
    page = browser.get("/registers/dcat/schemas/dataset").text
    assert "Page 1 of 2" in page
    assert "Pet 24" in browser.get("/registers/dcat/schemas/dataset?_search=Pet+24").text
    filtered = browser.get("/registers/dcat/schemas/dataset?category=Cats").text
    assert "13 in all" in filtered
    one = objects.find_all("dcat", "dataset", limit=1)["results"][0]
    detail = browser.get(f"/registers/dcat/schemas/dataset/objects/{one['id']}").text
    assert "&#34;title&#34;" in detail and "<pre" in detail


def test_an_unknown_object_is_a_404_page(browser, dcat):
    response = browser.get("/registers/dcat/schemas/dataset/objects/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404 and "Not found" in response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/sources/404"),
        ("get", "/mappings/404"),
        ("get", "/synchronizations/404"),
        ("post", "/sources/404/delete"),
        ("post", "/synchronizations/404/run"),
        ("get", "/registers/nope"),
    ],
)
def test_an_unknown_entity_is_the_not_found_page_while_the_api_answers_json(browser, method, path):
    response = getattr(browser, method)(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html") and "Not found" in response.text
    api = browser.client.get("/index.php/apps/openconnector/api/sources/404", auth=("admin", "admin"))
    assert api.status_code == 404 and api.json()["message"]
