"""The public catalog as an anonymous visitor sees it, in headless Debian chromium: search finds
a dataset by a word in its document, the detail page lists the attachment, and clicking it
downloads the bytes. A file name and a title made of markup stay text; no dialog opens."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from openconnector.catalog.woo import install_woo
from openconnector.files.extraction import TextExtractor
from openconnector.files.service import FileService
from openconnector.register.objects import ObjectService

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "files"))
from documents import pdf_bytes  # noqa: E402  (tests/files/documents.py)

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


def test_a_visitor_finds_a_dataset_by_its_document_and_downloads_it(
    page: Any, live_server: Any, context: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    install_woo(context)
    dataset = ObjectService(context).save_object(
        {"title": f"Bomenkap {XSS}", "publicatiedatum": "2020-06-01T12:00:00+00:00"}, "dcat", "dataset"
    )
    content = pdf_bytes("Besluit over de kastanjeboom aan de Dorpsstraat")
    FileService(context).add(
        dataset, content, name=f"besluit {XSS}.pdf", content_type="application/pdf", published=True
    )
    TextExtractor(context).extract_pending()

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(live_server.url + "/catalog/publications")
    page.get_by_label("Search titles, descriptions and documents").fill("kastanjeboom")
    page.get_by_role("button", name="Search").click()
    link = page.get_by_role("link", name=f"Bomenkap {XSS}")
    expect(link).to_be_visible()
    link.click()

    expect(page.get_by_role("heading", name=f"Bomenkap {XSS}")).to_be_visible()
    attachment = page.get_by_role("link", name="besluit img src=x onerror=alert(1).pdf")
    expect(attachment).to_be_visible()
    with page.expect_download() as download_info:
        attachment.click()
    saved = tmp_path / "downloaded.pdf"
    download_info.value.save_as(saved)
    assert saved.read_bytes() == content
    assert dialogs == []
    assert page.locator("img").count() == 0  # the markup stayed text
