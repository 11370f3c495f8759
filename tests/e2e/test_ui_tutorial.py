"""The tutorial's Steps 1 to 5 through the UI, by clicking, in headless Debian chromium.

The app is the real server (``live_server``); the Pet Store is the local
stand-in (``fake_api``). Each page visited is saved as a screenshot in
``tests/screenshots/ui/`` (ignored by git): at 1280 px wide, and some at 390 px,
where the test also checks that nothing is wider than the screen.

A pet named ``<img src=x onerror=alert(1)>`` then goes the same way: it must
show as text everywhere, and no dialog may open.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.browser

ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[1] / "screenshots" / "ui"
XSS = "<img src=x onerror=alert(1)>"
PETS = "/pet/findByStatus?status=available"
ROWS = [
    ("title", "{{ name }}"),
    ("category", "{{ category.name }}"),
    ("status", "Published"),
    ("publicatiedatum", '{{ "now"|date("Y-m-d H:i:s") }}'),
]


@pytest.fixture
def dcat(live_server: Any) -> None:
    """Parts 1 to 3 of the tutorial, through the REST API: the DCAT register and its Dataset schema."""
    with live_server.client(("admin", "admin")) as api:
        api.post(
            "/index.php/apps/openregister/api/registers", json={"title": "DCAT register", "slug": "dcat"}
        ).raise_for_status()
        api.post(
            "/index.php/apps/openregister/api/schemas",
            json={
                "title": "Dataset",
                "slug": "dataset",
                "register": "dcat",
                "required": ["title"],
                "properties": {
                    "title": {"type": "string"},
                    "category": {"type": "string"},
                    "status": {"type": "string"},
                    "publicatiedatum": {"type": "string", "format": "date-time"},
                },
            },
        ).raise_for_status()


class Tour:
    """The browser page with the test's habits: screenshots, and no dialog allowed."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.dialogs: list[str] = []
        self.count = 0
        page.on("dialog", self._dialog)
        SHOTS.mkdir(parents=True, exist_ok=True)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def shot(self, name: str, *, narrow: bool = False) -> None:
        """Save the page at 1280 px and, with ``narrow``, at 390 px (checking nothing overflows)."""
        self.count += 1
        self.page.screenshot(path=str(SHOTS / f"{self.count:02}-{name}.png"), full_page=True)
        if narrow:
            self.page.set_viewport_size({"width": 390, "height": 844})
            try:
                overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                self.page.screenshot(path=str(SHOTS / f"{self.count:02}-{name}-390.png"), full_page=True)
                assert overflow <= 0, f"{name} is {overflow}px wider than a 390px screen"
            finally:
                self.page.set_viewport_size({"width": 1280, "height": 900})

    def nav(self, label: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()

    def click(self, name: str, first: bool = False) -> None:
        button = self.page.get_by_role("button", name=name, exact=True)
        (button.first if first else button).click()


@pytest.fixture
def tour(live_server: Any, chromium: str) -> Iterator[Tour]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(15_000)
            page = context.new_page()
            yield Tour(page, live_server.url)
        finally:
            browser.close()


def _run(tour: Tour, button: str) -> dict[str, str]:
    """Click Run or Test run, wait for the log, and return its counts."""
    from playwright.sync_api import expect

    page = tour.page
    tour.click(button)
    panel = page.locator("#run-panel")
    expect(panel).to_contain_text("finished", timeout=30_000)
    return {
        key: panel.locator(f'dd[data-count="{key}"]').inner_text()
        for key in ("found", "created", "updated", "skipped", "invalid", "deleted")
    }


def test_tutorial_steps_1_to_5_by_clicking(tour: Tour, dcat: None, fake_api: Any) -> None:
    from playwright.sync_api import expect

    page = tour.page

    # Log in.
    page.goto(tour.base + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    tour.shot("login", narrow=True)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin")
    tour.click("Log in")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    tour.shot("dashboard-empty")

    # Step 1: the source, its location, and a green test.
    tour.nav("Sources")
    page.get_by_role("link", name="Add source").click()
    page.get_by_label("Name").fill("Swagger Pet Store")
    page.get_by_label("Type").select_option("api")
    page.get_by_label("Description").fill("The public Pet Store, standing in for a case system")
    tour.shot("source-new")
    tour.click("Create")
    expect(page.get_by_role("heading", name="Swagger Pet Store")).to_be_visible()
    page.get_by_label("Location (base URL)").fill(fake_api.url + "/api/v3")
    tour.click("Save", first=True)
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    page.get_by_label("Endpoint (optional)").fill(PETS)
    tour.click("Test")
    result = page.locator("#test-result")
    expect(result).to_have_class(re.compile(r"\bok\b"))
    expect(result).to_contain_text("200")
    expect(result).to_contain_text("Bella")
    tour.shot("source-tested", narrow=True)

    # Step 2: the mapping with its four rows, tested.
    tour.nav("Mappings")
    page.get_by_role("link", name="Add mapping").click()
    page.get_by_label("Name").fill("Pet to dataset")
    tour.click("Create")
    for i, (target, expression) in enumerate(ROWS, start=1):
        if i > 1:
            tour.click("Add row")
        page.get_by_label(f"Target field {i}", exact=True).fill(target)
        page.get_by_label(f"Expression {i}", exact=True).fill(expression)
    tour.click("Save", first=True)
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    page.get_by_label("Validate against schema").select_option(label="DCAT register / Dataset")
    tour.click("Test mapping")
    mapped = page.locator("#mapping-result")
    expect(mapped).to_have_class(re.compile(r"\bok\b"))
    expect(mapped).to_contain_text('"title": "Bella"')
    expect(mapped).to_contain_text('"category": "Dogs"')
    expect(mapped).to_contain_text('"status": "Published"')
    tour.shot("mapping-tested", narrow=True)

    # Step 3: the synchronisation, wired from the dropdowns.
    tour.nav("Synchronisations")
    page.get_by_role("link", name="Add synchronisation").click()
    page.get_by_label("Name").fill("Pet store to datasets")
    page.get_by_label("Source type").select_option("api")
    page.get_by_label("Target type").select_option("register/schema")
    tour.click("Create")
    page.get_by_label("Source", exact=True).select_option(label="Swagger Pet Store")
    page.get_by_label("Source endpoint").fill(PETS)
    page.get_by_label("Results position").fill("_root")
    page.get_by_label("Id position").fill("id")
    page.get_by_label("Mapping").select_option(label="Pet to dataset")
    page.get_by_label("Register").select_option(label="DCAT register")
    expect(page.get_by_label("Schema").locator("option", has_text="Dataset")).to_have_count(1)
    page.get_by_label("Schema").select_option(label="Dataset")
    tour.click("Save", first=True)
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(page.get_by_label("Schema")).to_have_value(re.compile(r"\d+"))
    tour.shot("synchronization-wired")

    # Step 4: a dry run writes nothing; Run creates 8; the datasets arrive; a second Run skips 8.
    dry = _run(tour, "Test run")
    assert (dry["found"], dry["created"]) == ("8", "8")
    counts = _run(tour, "Run")
    assert counts == {
        "found": "8",
        "created": "8",
        "updated": "0",
        "skipped": "0",
        "invalid": "0",
        "deleted": "0",
    }
    tour.shot("synchronization-run", narrow=True)

    tour.nav("Registers")
    tour.shot("registers")
    page.get_by_role("link", name=re.compile("DCAT register")).click()
    page.get_by_role("link", name="Dataset").click()
    rows = page.locator("table.objects tbody tr")
    expect(rows).to_have_count(8)
    expect(page.get_by_role("link", name="Bella")).to_be_visible()
    tour.shot("datasets", narrow=True)
    page.get_by_role("link", name="Bella").click()
    expect(page.locator("pre.json")).to_contain_text('"publicatiedatum"')
    tour.shot("dataset")

    tour.nav("Synchronisations")
    expect(page.locator("table.data").get_by_text("success")).to_be_visible()
    tour.shot("synchronizations")
    page.get_by_role("link", name="Pet store to datasets").click()
    again = _run(tour, "Run")
    assert (again["found"], again["created"], again["skipped"]) == ("8", "0", "8")

    # Step 5: schedule it every hour; the page shows the next run.
    page.get_by_label("Interval", exact=True).select_option(label="Every hour")
    tour.click("Schedule")
    expect(page.get_by_role("status").filter(has_text="Scheduled.")).to_be_visible()
    schedule = page.locator("dl.schedule")
    expect(schedule).to_contain_text("3600")
    expect(schedule.locator("dd").nth(1)).to_have_text(re.compile(r"\d{4}-\d\d-\d\d"))
    tour.shot("synchronization-scheduled", narrow=True)

    tour.nav("Logs")
    expect(page.locator("table.logs tbody tr").first).to_be_visible()
    tour.shot("logs-calls")
    page.get_by_role("link", name="Runs", exact=True).click()
    expect(
        page.locator("table.logs tbody tr").nth(2)
    ).to_be_visible()  # the test run and two runs (the scheduler may add one)
    tour.shot("logs-runs", narrow=True)

    tour.nav("Dashboard")
    expect(page.locator(".count").filter(has_text="Sources")).to_contain_text("1")
    expect(page.locator("figure.chart svg rect").first).to_be_attached()
    tour.shot("dashboard", narrow=True)
    assert tour.dialogs == []


def test_a_record_named_like_markup_shows_as_text_on_every_page(
    tour: Tour, dcat: None, fake_api: Any
) -> None:
    """Source test, mapping test, the datasets list and the dataset page all show the name as text."""
    from playwright.sync_api import expect

    page = tour.page
    with httpx.Client(base_url=tour.base, auth=("admin", "admin"), timeout=30) as api:
        oc = "/index.php/apps/openconnector/api"
        source = api.post(
            f"{oc}/sources",
            json={
                "name": "Pet Store",
                "type": "api",
                "auth": "none",
                "location": fake_api.url + "/api/v3",
                "isEnabled": True,
            },
        ).json()
        mapping = api.post(f"{oc}/mappings", json={"name": "Pet to dataset", "mapping": dict(ROWS)}).json()
        sync = api.post(
            f"{oc}/synchronizations",
            json={
                "name": "Pets",
                "sourceId": source["uuid"],
                "sourceType": "api",
                "sourceTargetMapping": mapping["uuid"],
                "sourceConfig": {"endpoint": PETS, "idPosition": "id", "resultsPosition": "_root"},
                "targetType": "register/schema",
                "targetId": "dcat/dataset",
            },
        ).json()
    fake_api.add_pet(XSS)

    page.goto(tour.base + "/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin")
    tour.click("Log in")

    page.goto(f"{tour.base}/sources/{source['id']}")
    page.get_by_label("Endpoint (optional)").fill(PETS)
    tour.click("Test")
    expect(page.locator("#test-result pre")).to_contain_text(f'"name": "{XSS}"')
    tour.shot("xss-source-test")

    page.goto(f"{tour.base}/mappings/{mapping['id']}")
    page.get_by_label("Sample record (JSON)").fill(json.dumps({"name": XSS, "category": {"name": "Dogs"}}))
    tour.click("Test mapping")
    expect(page.locator("#mapping-result pre")).to_contain_text(f'"title": "{XSS}"')
    tour.shot("xss-mapping-test")

    page.goto(f"{tour.base}/synchronizations/{sync['id']}")
    counts = _run(tour, "Run")
    assert (counts["found"], counts["created"]) == ("9", "9")

    page.goto(f"{tour.base}/registers/dcat/schemas/dataset?_search=onerror")
    link = page.get_by_role("link", name=XSS, exact=True)
    expect(link).to_be_visible()
    tour.shot("xss-datasets")
    link.click()
    expect(page.get_by_role("heading", name=XSS, exact=True)).to_be_visible()
    expect(page.locator("pre.json")).to_contain_text(f'"title": "{XSS}"')
    tour.shot("xss-dataset")

    page.goto(f"{tour.base}/logs?kind=calls")
    page.goto(f"{tour.base}/")
    assert tour.dialogs == []
    assert page.evaluate("document.querySelectorAll('img').length") == 0


def test_the_login_form_and_the_navigation_work_by_keyboard_alone(tour: Tour) -> None:
    from playwright.sync_api import expect

    page = tour.page
    page.goto(tour.base + "/login")
    expect(page.get_by_label("Username")).to_be_focused()  # autofocus
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type("admin")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    expect(page.locator("a.skip")).to_be_in_viewport()
    for _ in range(3):  # brand, Dashboard, Sources
        page.keyboard.press("Tab")
    sources = page.get_by_role("navigation", name="Main").get_by_role("link", name="Sources")
    expect(sources).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Sources")).to_be_visible()
