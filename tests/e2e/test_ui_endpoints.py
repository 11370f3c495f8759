"""An endpoint with an authentication rule, made and tried through the UI in headless chromium.

A new user adds an API-key rule, then an endpoint over the tutorial's datasets, sees
the red "public" warning until the rule is attached, and tries the endpoint from its
page: refused without the key, served with it.
"""

from __future__ import annotations

import re

import pytest
from test_ui_tutorial import Tour, dcat, tour  # noqa: F401  (fixtures shared with the tutorial tour)

pytestmark = pytest.mark.browser


def test_create_an_endpoint_with_a_rule_and_try_it(tour: Tour, dcat: None) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page = tour.page
    page.goto(tour.base + "/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin")
    tour.click("Log in")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The rule: an API key of its own.
    tour.nav("Rules")
    page.get_by_role("link", name="Add rule").click()
    page.get_by_label("Name").fill("Key required")
    page.get_by_label("Type").select_option("authentication")
    page.get_by_label("Configuration (JSON object)").fill(
        '{"authentication": {"type": "apikey", "header": "X-Api-Key", "keys": ["ui-key-42"]}}'
    )
    tour.click("Create")
    expect(page.get_by_role("heading", name="Key required")).to_be_visible()
    expect(page.get_by_label("Configuration (JSON object)")).not_to_contain_text("ui-key-42")

    # The endpoint: public until the rule is attached.
    tour.nav("Endpoints")
    page.get_by_role("link", name="Add endpoint").click()
    page.get_by_label("Name").fill("Datasets")
    page.get_by_label("Path pattern").fill("datasets")
    page.get_by_label("Method").select_option("GET")
    page.get_by_label("Target type").select_option("register/schema")
    page.get_by_label("Target", exact=True).fill("dcat/dataset")
    tour.click("Create")
    expect(page.get_by_role("heading", name="Datasets")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Public")
    tour.shot("endpoint-public")
    page.get_by_label("Key required").check()
    tour.click("Save")
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)

    # Try it: refused without the key, then served with it.
    page.get_by_label("Path (after /api/endpoint/)").fill("datasets?_limit=5")
    tour.click("Send request")
    result = page.locator("#try-result")
    expect(result).to_have_class(re.compile(r"\bbad\b"))
    expect(result).to_contain_text("401")
    expect(result).to_contain_text("X-Api-Key")
    page.get_by_label("Headers (JSON object)").fill('{"X-Api-Key": "ui-key-42"}')
    tour.click("Send request")
    result = page.locator("#try-result")
    expect(result).to_have_class(re.compile(r"\bok\b"))
    expect(result).to_contain_text("200")
    expect(result).to_contain_text('"count": 0')
    tour.shot("endpoint-tried", narrow=True)
    assert tour.dialogs == []
