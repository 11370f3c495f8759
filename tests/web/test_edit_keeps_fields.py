"""Saving an entity from the UI keeps what the form does not show (issue 12, point 1).

The browser test is the issue's "must show": a synchronisation made through REST
with ``targetId: "dcat/dataset"`` (slugs) opens in the UI with the DCAT register and
the Dataset schema selected; changing only its description and saving keeps the
target, and a run still writes to it. The form tests below check the same for
sources and mappings, and for fields the pages have no input for.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from openconnector.connector.entities import EntityService
from openconnector.context import Context

API = "/index.php/apps/openconnector/api"
PETS = "/pet/findByStatus?status=available"


@pytest.mark.browser
def test_a_sync_made_by_rest_keeps_its_slug_target_through_a_ui_save(
    page: Any, live_server: Any, context: Context, make_dcat: Any, fake_api: Any
) -> None:
    from playwright.sync_api import expect

    make_dcat(context)
    with live_server.client(("admin", "admin")) as api:
        source = api.post(
            f"{API}/sources", json={"name": "Pet Store", "type": "api", "location": fake_api.url + "/api/v3"}
        ).json()
        mapping = api.post(
            f"{API}/mappings", json={"name": "Pet to dataset", "mapping": {"title": "{{ name }}"}}
        ).json()
        sync = api.post(
            f"{API}/synchronizations",
            json={
                "name": "Pets by REST",
                "description": "made with curl",
                "sourceId": source["id"],
                "sourceType": "api",
                "sourceConfig": {
                    "endpoint": PETS,
                    "idPosition": "id",
                    "headers": {"Accept": "application/json"},
                },
                "sourceTargetMapping": mapping["uuid"],
                "targetType": "register/schema",
                "targetId": "dcat/dataset",
                "conditions": {"==": [1, 1]},
            },
        ).json()

        page.goto(live_server.url + "/login")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("admin")
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server.url}/synchronizations/{sync['id']}")
        expect(page.get_by_label("Register")).to_have_text(re.compile("DCAT register"))
        assert (
            page.get_by_label("Register").evaluate("s => s.options[s.selectedIndex].text") == "DCAT register"
        )
        assert page.get_by_label("Schema").evaluate("s => s.options[s.selectedIndex].text") == "Dataset"
        assert page.get_by_label("Source", exact=True).evaluate("s => s.options[s.selectedIndex].text") == (
            "Pet Store"
        )
        page.get_by_label("Description").fill("edited in the UI")
        page.get_by_role("button", name="Save").first.click()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()

        stored = api.get(f"{API}/synchronizations/{sync['id']}").json()
        assert stored["description"] == "edited in the UI"
        assert stored["targetId"] == "dcat/dataset"
        assert stored["sourceId"] == source["id"]
        assert stored["sourceTargetMapping"] == mapping["uuid"]
        assert stored["conditions"] == {"==": [1, 1]}
        assert stored["sourceConfig"]["headers"] == {"Accept": "application/json"}

        run = api.post(f"{API}/synchronizations/{sync['id']}/run")
        assert run.status_code == 200, run.text
        assert run.json()["status"] == "success"
        assert run.json()["result"]["objects"]["created"] == 8
        datasets = api.get("/index.php/apps/openregister/api/objects/dcat/dataset").json()
        assert datasets["total"] == 8


def test_saving_a_source_form_keeps_fields_it_does_not_show(browser: Any, context: Context) -> None:
    sources = EntityService("source", context)
    source = sources.create(
        {
            "name": "Kept",
            "type": "api",
            "location": "https://example.org",
            "configuration": {"verify": False, "timeout": 7, "headers": {"Accept": "text/xml"}},
            "rateLimitLimit": 10,
            "reference": "https://example.org/source/1",
        }
    )
    form = {
        "name": "Kept",
        "type": "api",
        "description": "new words",
        "location": "https://example.org",
        "isEnabled": "1",
        "auth": "none",
        "header.name": "Accept",
        "header.value": "text/xml",
    }
    assert browser.post(f"/sources/{source['id']}", form).status_code == 303
    stored = sources.get(source["uuid"])
    assert stored["description"] == "new words"
    assert stored["configuration"] == {"verify": False, "timeout": 7, "headers": {"Accept": "text/xml"}}
    assert stored["rateLimitLimit"] == 10
    assert stored["reference"] == "https://example.org/source/1"


def test_saving_a_mapping_form_keeps_typed_rules_and_list_casts(browser: Any, context: Context) -> None:
    mappings = EntityService("mapping", context)
    mapping = mappings.create(
        {
            "name": "Typed",
            "mapping": {"title": "{{ name }}", "count": 5, "tags": ["a", "b"]},
            "cast": {"count": ["integer", "string"]},
            "reference": "https://example.org/mapping/1",
        }
    )
    page = browser.get(f"/mappings/{mapping['id']}").text
    assert 'value="count"' in page
    form = [
        ("name", "Typed"),
        ("description", "described"),
        ("rule.target", "title"),
        ("rule.value", "{{ name }}"),
        ("rule.target", "count"),
        ("rule.value", "5"),
        ("rule.target", "tags"),
        ("rule.value", '["a", "b"]'),
        ("cast.target", "count"),
        ("cast.value", "integer,string"),
        ("unset", ""),
        ("action", "save"),
    ]
    assert browser.post(f"/mappings/{mapping['id']}", form).status_code == 303
    stored = mappings.get(mapping["uuid"])
    assert stored["description"] == "described"
    assert stored["mapping"] == {"title": "{{ name }}", "count": 5, "tags": ["a", "b"]}
    assert stored["cast"] == {"count": ["integer", "string"]}
    assert stored["reference"] == "https://example.org/mapping/1"


def test_a_sync_form_shows_and_keeps_references_it_cannot_resolve(browser: Any, context: Context) -> None:
    syncs = EntityService("synchronization", context)
    sync = syncs.create(
        {"name": "Dangling", "sourceId": 999, "sourceType": "xml", "targetId": "gone/nothing"}
    )
    page = browser.get(f"/synchronizations/{sync['id']}").text
    assert re.search(r'<option value="999" selected>999 \(not found\)</option>', page)
    assert re.search(r'<option value="xml" selected>xml</option>', page)
    assert re.search(r'<option value="gone" selected>gone \(not found\)</option>', page)
    form = {
        "name": "Dangling",
        "description": "only this changes",
        "sourceType": "xml",
        "targetType": "register/schema",
        "sourceId": "999",
        "sourceTargetMapping": "",
        "register": "gone",
        "schema": "nothing",
        "usesPagination": "1",
    }
    assert browser.post(f"/synchronizations/{sync['id']}", form).status_code == 303
    stored = syncs.get(sync["uuid"])
    assert stored["description"] == "only this changes"
    assert (stored["sourceId"], stored["sourceType"], stored["targetId"]) == (999, "xml", "gone/nothing")


def test_rest_put_changes_only_what_it_names(client: Any, make_dcat: Any, context: Context) -> None:
    make_dcat(context)
    made = client.post(
        f"{API}/synchronizations",
        json={
            "name": "Partial",
            "description": "before",
            "targetId": "dcat/dataset",
            "sourceConfig": {"a": 1},
        },
    ).json()
    changed = client.put(f"{API}/synchronizations/{made['id']}", json={"description": "after"}).json()
    assert changed["description"] == "after"
    assert (changed["targetId"], changed["sourceConfig"], changed["name"]) == (
        "dcat/dataset",
        {"a": 1},
        "Partial",
    )

    reg = "/index.php/apps/openregister/api"
    register = client.put(f"{reg}/registers/dcat", json={"description": "the datasets"}).json()
    assert register["title"] == "DCAT register" and register["schemas"]
    schema = client.put(f"{reg}/schemas/dataset", json={"description": "one dataset"}).json()
    assert schema["title"] == "Dataset" and "publicatiedatum" in schema["properties"]


def test_scheduling_from_the_page_keeps_the_jobs_other_arguments(browser: Any, context: Context) -> None:
    from openconnector.jobs.service import JobService

    sync = EntityService("synchronization", context).create({"name": "Scheduled"})
    jobs = JobService(context)
    job = jobs.schedule(sync["uuid"], interval=3600, force=True)
    EntityService("job", context).update(
        job["uuid"], {"arguments": {**job["arguments"], "note": "set by API"}, "userId": "ops"}
    )
    assert browser.post(f"/synchronizations/{sync['id']}/schedule", {"interval": "900"}).status_code == 303
    stored = EntityService("job", context).get(job["uuid"])
    assert stored["interval"] == 900
    assert stored["arguments"] == {"synchronizationId": sync["uuid"], "force": True, "note": "set by API"}
    assert stored["userId"] == "ops"


def test_saving_a_source_form_keeps_auth_settings_it_has_no_input_for(browser: Any, context: Context) -> None:
    sources = EntityService("source", context)
    source = sources.create(
        {
            "name": "Auth kept",
            "location": "https://example.org",
            "auth": "basic",
            "authenticationConfig": {"username": "u", "password": "p-secret", "realm": "ops"},
        }
    )
    form = {"name": "Auth kept", "type": "api", "location": "https://example.org", "auth": "basic"}
    form["auth.username"] = "u"
    assert browser.post(f"/sources/{source['id']}", form).status_code == 303
    stored = sources.get_with_secrets(source["uuid"])["authenticationConfig"]
    assert stored == {"username": "u", "password": "p-secret", "realm": "ops"}
