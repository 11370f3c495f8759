"""The files panel of an object page, as a logged-in user (in-process; chromium in tests/e2e)."""

from __future__ import annotations

import pytest

from openconnector.files.service import FileService
from openconnector.register.objects import ObjectService
from openconnector.register.registers import RegisterService

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)


@pytest.fixture
def page_of(context):
    registers = RegisterService(context)
    register = registers.create_register({"title": "Woo", "slug": "woo"})
    schema = registers.create_schema({"title": "Besluit", "slug": "besluit"}, register="woo")
    obj = ObjectService(context).save_object({"title": "Besluit 7"}, "woo", "besluit")
    return f"/registers/{register['id']}/schemas/{schema['id']}/objects/{obj['id']}", obj


def _upload(browser, path, name, data, kind, **fields):
    browser.get(path)
    return browser.client.post(
        f"{path}/files",
        files={"file": (name, data, kind)},
        data={"csrf_token": browser.csrf, **fields},
        follow_redirects=False,
        headers=fields.pop("headers", {}),
    )


def test_the_object_page_shows_an_empty_panel_with_an_upload_form(browser, page_of):
    path, _ = page_of
    html = browser.get(path).text
    assert 'id="files"' in html and "No files yet." in html
    assert 'enctype="multipart/form-data"' in html and 'name="file"' in html


def test_a_plain_form_upload_lists_the_file_with_escaped_labels(browser, page_of, context):
    path, obj = page_of
    response = _upload(browser, path, "scan.png", PNG, "image/png", labels="<script>alert(1)</script>")
    assert response.status_code == 200, response.text
    assert "Uploaded scan.png." in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>alert(1)" not in response.text
    (stored,) = FileService(context).list(obj)
    assert stored["type"] == "image/png" and stored["labels"] == ["<script>alert(1)</script>"]
    assert f'{stored["downloadUrl"]}" download>scan.png</a>' in response.text  # absolute in the page


def test_an_htmx_upload_streams_and_answers_the_panel_alone(browser, page_of, context):
    path, obj = page_of
    browser.get(path)
    response = browser.client.post(
        f"{path}/files",
        files={"file": ("notes.txt", b"hello", "text/plain")},
        data={"published": "true"},
        headers={"X-CSRF-Token": browser.csrf, "HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    assert response.text.lstrip().startswith('<section id="files"') or 'id="files"' in response.text[:300]
    assert "<html" not in response.text
    (stored,) = FileService(context).list(obj)
    assert stored["title"] == "notes.txt" and stored["published"]


def test_a_content_type_lie_is_shown_as_an_alert(browser, page_of, context):
    path, obj = page_of
    response = _upload(browser, path, "photo.pdf", PNG, "application/pdf")
    assert response.status_code == 400
    assert 'role="alert"' in response.text and "does not match the file" in response.text
    assert FileService(context).list(obj) == []


def test_publish_unpublish_and_delete_from_the_panel(browser, page_of, context):
    path, obj = page_of
    _upload(browser, path, "a.txt", b"abc", "text/plain")
    (made,) = FileService(context).list(obj)
    assert made["published"] is None
    published = browser.post(f"{path}/files/{made['id']}/publish")
    assert published.status_code == 200 and "Published a.txt." in published.text
    assert FileService(context).get(obj, made["id"])["published"]
    assert "Unpublish a.txt" in published.text
    browser.post(f"{path}/files/{made['id']}/unpublish")
    assert FileService(context).get(obj, made["id"])["published"] is None
    deleted = browser.post(f"{path}/files/{made['id']}/delete")
    assert "Deleted a.txt." in deleted.text and "No files yet." in deleted.text
    assert FileService(context).list(obj) == []


def test_without_the_csrf_token_nothing_changes(browser, page_of, context):
    path, obj = page_of
    refused = browser.client.post(f"{path}/files", files={"file": ("a.txt", b"abc", "text/plain")})
    assert refused.status_code == 403
    assert FileService(context).list(obj) == []


def test_anonymous_visitors_are_sent_to_login(anonymous, page_of):
    path, _ = page_of
    response = anonymous.client.post(
        f"{path}/files", files={"file": ("a.txt", b"abc", "text/plain")}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
