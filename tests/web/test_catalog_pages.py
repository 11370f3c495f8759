"""The public catalog's pages: open without a login, attachments as download links, all escaped,
and nothing the public API would hide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openconnector.catalog.woo import install_woo
from openconnector.files.extraction import TextExtractor
from openconnector.files.service import FileService
from openconnector.register.objects import ObjectService

PAST = "2020-06-01T12:00:00+00:00"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def woo(context):  # type: ignore[no-untyped-def]
    install_woo(context)
    objects, files = ObjectService(context), FileService(context)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    shown = objects.save_object(
        {
            "title": "Kap <script>alert(1)</script>",
            "description": "Bomen & <b>struiken</b>",
            "publicatiedatum": PAST,
        },
        "dcat",
        "dataset",
    )
    hidden = objects.save_object({"title": "Nog niet", "publicatiedatum": future}, "dcat", "dataset")
    return {
        "shown": shown,
        "hidden": hidden,
        "public": files.add(shown, PDF, name="besluit <img src=x onerror=alert(1)>.pdf", published=True),
        "private": files.add(shown, b"intern memo over de eik", name="memo.txt", published=False),
        "hidden_file": files.add(hidden, PDF, name="concept.pdf", published=True),
    }


def test_the_detail_page_shows_published_attachments_as_escaped_download_links(anonymous, woo):
    page = anonymous.get(f"/catalog/publications/{woo['shown']['id']}")
    assert page.status_code == 200
    html = page.text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>struiken</b>" not in html and "&lt;b&gt;struiken&lt;/b&gt;" in html
    assert "<img" not in html  # the file name is text
    link = f"/index.php/apps/opencatalogi/api/publications/{woo['shown']['id']}/attachments/{woo['public']['uuid']}/download"
    assert f'href="http://testserver{link}"' in html
    assert woo["public"]["title"] in page.text.replace("&lt;", "<").replace("&gt;", ">")
    assert "memo.txt" not in html  # not published
    downloaded = anonymous.client.get(link)
    assert downloaded.status_code == 200 and downloaded.content == PDF


def test_an_unpublished_dataset_is_the_not_found_page(anonymous, woo):
    page = anonymous.get(f"/catalog/publications/{woo['hidden']['id']}")
    assert page.status_code == 404
    assert "concept.pdf" not in page.text
    assert "text/html" in page.headers["content-type"]


def test_the_list_searches_published_documents_only(anonymous, context, woo):
    TextExtractor(context).extract_pending()
    assert anonymous.get("/catalog/publications").text.count("/catalog/publications/") >= 1
    found = anonymous.get("/catalog/publications", params={"q": "eik"})
    assert found.status_code == 200
    assert woo["shown"]["id"] not in found.text  # "eik" is only in an unpublished memo
    assert "Nothing found." in found.text
