"""A document attached to an object through the UI, in headless chromium.

A user opens an object, uploads a PDF with a label that looks like HTML and
publishes it, downloads it back, unpublishes and deletes it; a PNG sent as a PDF
is refused with an alert. Labels show as text and no dialog ever opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_ui_tutorial import XSS, Tour, tour  # noqa: F401  (the tutorial tour's browser fixture)

pytestmark = pytest.mark.browser

OR = "/index.php/apps/openregister/api"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)


@pytest.fixture
def object_path(live_server: Any) -> str:
    with live_server.client(("admin", "admin")) as api:
        register = api.post(f"{OR}/registers", json={"title": "Woo", "slug": "woo"}).json()
        schema = api.post(
            f"{OR}/schemas",
            json={
                "title": "Besluit",
                "slug": "besluit",
                "register": "woo",
                "properties": {"title": {"type": "string"}},
            },
        ).json()
        obj = api.post(f"{OR}/objects/woo/besluit", json={"title": "Besluit op Woo-verzoek"}).json()
    return f"/registers/{register['id']}/schemas/{schema['id']}/objects/{obj['id']}"


def test_upload_publish_download_and_delete_a_document(tour: Tour, object_path: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page = tour.page
    page.goto(tour.base + "/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin")
    tour.click("Log in")
    page.goto(tour.base + object_path)
    panel = page.locator("#files")
    expect(panel).to_contain_text("No files yet.")

    panel.get_by_label("File").set_input_files(
        {"name": "besluit 12.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    panel.get_by_label("Labels").fill(XSS)
    panel.get_by_label("Publish now").check()
    tour.click("Upload")
    expect(page.get_by_role("status")).to_contain_text("Uploaded besluit 12.pdf.")
    row = page.locator("#files tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(XSS)  # the label as text ...
    expect(page.locator("#files img")).to_have_count(0)  # ... never as an element
    expect(row.get_by_role("button", name="Unpublish besluit 12.pdf")).to_be_visible()
    tour.shot("object-files", narrow=True)

    with page.expect_download() as download:
        row.get_by_role("link", name="besluit 12.pdf").click()
    assert download.value.suggested_filename == "besluit 12.pdf"
    assert Path(download.value.path()).read_bytes() == PDF

    row.get_by_role("button", name="Unpublish besluit 12.pdf").click()
    expect(page.get_by_role("status")).to_contain_text("Unpublished besluit 12.pdf.")
    expect(row).to_contain_text("not published")

    panel = page.locator("#files")
    panel.get_by_label("File").set_input_files(
        {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": PNG}
    )
    tour.click("Upload")
    expect(page.get_by_role("alert")).to_contain_text("does not match the file: its bytes are image/png")
    expect(page.locator("#files tbody tr")).to_have_count(1)

    page.locator("#files").get_by_role("button", name="Delete besluit 12.pdf").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted besluit 12.pdf.")
    expect(page.locator("#files")).to_contain_text("No files yet.")
    assert tour.dialogs == []
