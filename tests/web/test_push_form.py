"""Push and notification settings in the one synchronisation form (issue 15, point 4).

The browser test makes a push synchronisation the way a user does: add it, choose the
register, schema and target source, the endpoints, methods and events, save; the page
shows every value back, an edit keeps what it did not touch, and an object saved
afterwards reaches the receiving API as the form said.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from receiver import Receiver  # tests/connector is on sys.path (tests/conftest.py)

from openconnector import ObjectService
from openconnector.connector import outbox
from openconnector.connector.entities import EntityService
from openconnector.context import Context

API = "/index.php/apps/openconnector/api"


def _selected(page: Any, label: str) -> str:
    return page.get_by_label(label, exact=True).evaluate("s => s.options[s.selectedIndex].text")


@pytest.mark.browser
def test_a_push_synchronisation_made_and_edited_in_the_form_keeps_its_settings(
    page: Any, live_server: Any, context: Context, make_dcat: Any
) -> None:
    from playwright.sync_api import expect

    make_dcat(context)
    with Receiver() as receiver, live_server.client(("admin", "admin")) as api:
        target = api.post(
            f"{API}/sources", json={"name": "Portal", "type": "api", "location": receiver.url}
        ).json()

        page.goto(live_server.url + "/login")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("admin")
        page.get_by_role("button", name="Log in").click()
        page.goto(live_server.url + "/synchronizations/new")
        page.get_by_label("Name").fill("Datasets to the portal")
        page.get_by_label("Source type").select_option("register/schema")
        page.get_by_label("Target type").select_option("api")
        page.get_by_role("button", name="Create").click()
        expect(page.get_by_role("heading", name="Datasets to the portal")).to_be_visible()

        page.get_by_label("Register").select_option(label="DCAT register")
        expect(page.get_by_label("Schema")).to_contain_text("Dataset")  # swapped in by htmx
        page.get_by_label("Schema").select_option(label="Dataset")
        page.get_by_label("Target source").select_option(label="Portal")
        page.get_by_label("Create endpoint").fill("/items")
        page.get_by_label("Where the remote id is").fill("data.id")
        page.get_by_label("Update method").select_option("PATCH")
        page.get_by_label("delete", exact=True).uncheck()
        page.get_by_role("button", name="Save").first.click()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()

        (stored,) = [
            s for s in api.get(f"{API}/synchronizations").json()["results"] if s["name"].startswith("Data")
        ]
        assert stored["sourceType"] == "register/schema" and stored["targetType"] == "api"
        assert re.fullmatch(r"\d+/\d+", stored["sourceId"])  # the register and schema chosen
        assert stored["targetId"] == target["uuid"]
        assert stored["targetConfig"] == {
            "endpoint": "/items",
            "idPosition": "data.id",
            "updateMethod": "PATCH",
        }
        assert stored["triggerOnlyOnEvents"] == ["create", "update"]

        # shown back as saved
        page.reload()
        assert _selected(page, "Source type") == "register/schema"
        assert _selected(page, "Target type") == "api"
        assert _selected(page, "Register") == "DCAT register"
        assert _selected(page, "Schema") == "Dataset"
        assert _selected(page, "Target source") == "Portal"
        expect(page.get_by_label("Create endpoint")).to_have_value("/items")
        expect(page.get_by_label("Where the remote id is")).to_have_value("data.id")
        assert _selected(page, "Update method") == "PATCH"
        expect(page.get_by_label("create", exact=True)).to_be_checked()
        expect(page.get_by_label("update", exact=True)).to_be_checked()
        expect(page.get_by_label("delete", exact=True)).not_to_be_checked()

        # an edit of one field keeps the others
        page.get_by_label("Description").fill("edited")
        page.get_by_label("Update endpoint").fill("/items/{{originId}}")
        page.get_by_role("button", name="Save").first.click()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
        edited = api.get(f"{API}/synchronizations/{stored['id']}").json()
        assert edited["description"] == "edited"
        assert edited["sourceId"] == stored["sourceId"] and edited["targetId"] == target["uuid"]
        assert edited["targetConfig"] == {**stored["targetConfig"], "updateEndpoint": "/items/{{originId}}"}
        assert edited["triggerOnlyOnEvents"] == ["create", "update"]
        expect(page.get_by_text("PATCH /items/{{originId}}")).to_be_visible()  # the push summary

        # and it pushes as the form says
        made = ObjectService(context).save_object({"title": "From the form"}, "dcat", "dataset")
        assert outbox.OutboxDeliverer(context).deliver_due() == 1
        assert receiver.calls("POST") == [("POST", "/items", {"title": "From the form"})]
        ObjectService(context).save_object({"title": "Renamed"}, "dcat", "dataset", uuid=made["id"])
        assert outbox.OutboxDeliverer(context).deliver_due() == 1
        assert receiver.calls("PATCH") == [("PATCH", "/items/r1", {"title": "Renamed"})]


def test_a_push_needs_target_type_api_and_an_event(browser: Any, context: Context, make_dcat: Any) -> None:
    make_dcat(context)
    sync = EntityService("synchronization", context).create(
        {"name": "Out", "sourceType": "register/schema", "targetType": "api", "sourceId": "dcat/dataset"}
    )
    page = browser.get(f"/synchronizations/{sync['id']}").text
    register = re.search(r'<option value="(\d+)" selected>DCAT register', page).group(1)
    schema = re.search(r'<option value="(\d+)" selected>Dataset', page).group(1)
    form = {"name": "Out", "sourceType": "register/schema", "register": register, "schema": schema}
    answer = browser.post(f"/synchronizations/{sync['id']}", {**form, "targetType": "register/schema"})
    assert answer.status_code == 400 and "choose target type api" in answer.text
    answer = browser.post(f"/synchronizations/{sync['id']}", {**form, "targetType": "api"})
    assert answer.status_code == 400 and "Tick at least one event" in answer.text
    assert EntityService("synchronization", context).get(sync["uuid"]).get("triggerOnlyOnEvents") is None


def test_notification_subscriptions_are_set_in_the_form_and_listed_per_kanaal(
    browser: Any, context: Context, make_dcat: Any
) -> None:
    make_dcat(context)
    syncs = EntityService("synchronization", context)
    zaken = syncs.create({"name": "Zaken in", "sourceType": "api", "targetType": "register/schema"})
    syncs.create({"name": "<i>Besluiten</i> in", "sourceConfig": {"kanaal": "besluiten"}})
    page = browser.get(f"/synchronizations/{zaken['id']}").text
    answer = browser.post(
        f"/synchronizations/{zaken['id']}",
        {
            "name": "Zaken in",
            "sourceType": "api",
            "targetType": "register/schema",
            "kanaal": "zaken",
            "kenmerken": '{"zaaktype": "https://catalogi.example/zaaktypen/1"}',
            "usesPagination": "1",
        },
    )
    assert answer.status_code == 303, answer.text
    stored = syncs.get(zaken["uuid"])["sourceConfig"]
    assert stored["kanaal"] == "zaken"
    assert stored["kenmerken"] == {"zaaktype": "https://catalogi.example/zaaktypen/1"}
    page = browser.get(f"/synchronizations/{zaken['id']}").text
    assert 'value="zaken"' in page and "zaaktypen/1" in page

    bad = browser.post(
        f"/synchronizations/{zaken['id']}",
        {"name": "Zaken in", "sourceType": "api", "targetType": "register/schema", "kenmerken": "[1]"},
    )
    assert bad.status_code == 400 and "kenmerken must be an object" in bad.text

    listed = browser.get("/logs?kind=notifications").text
    assert "zaken" in listed and "Zaken in" in listed and "zaaktypen/1" in listed
    assert "besluiten" in listed and "&lt;i&gt;Besluiten&lt;/i&gt; in" in listed  # escaped
