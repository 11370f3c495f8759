"""Every page but the login page and the public catalog (tests/web/test_catalog_pages.py) needs a
session; every form POST needs its CSRF token."""

from __future__ import annotations

import os
import stat

import pytest

from openconnector.connector.entities import EntityService
from openconnector.store.settings import Settings
from openconnector.web.session import session_key

PAGES = [
    "/",
    "/sources",
    "/sources/new",
    "/sources/1",
    "/mappings",
    "/mappings/new",
    "/mappings/1",
    "/synchronizations",
    "/synchronizations/new",
    "/synchronizations/1",
    "/logs",
    "/logs?kind=runs",
    "/logs?kind=jobs",
    "/registers",
    "/registers/1",
    "/registers/1/schemas/1",
    "/registers/1/schemas/1/objects/x",
    "/sources/1/auth-fields?auth=basic",
    "/synchronizations/1/schema-options?register=1",
    "/synchronizations/1/runs/abc",
]

FORMS = [
    "/logout",
    "/sources",
    "/sources/1",
    "/sources/1/test",
    "/sources/1/delete",
    "/mappings",
    "/mappings/1",
    "/mappings/1/delete",
    "/synchronizations",
    "/synchronizations/1",
    "/synchronizations/1/run",
    "/synchronizations/1/schedule",
    "/synchronizations/1/delete",
    "/synchronizations/1/runs/x/stop",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_redirects_a_visitor_without_session_to_login(anonymous, path):
    response = anonymous.client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_the_login_redirect_remembers_the_page_asked_for(anonymous):
    response = anonymous.client.get("/sources?q=pets", follow_redirects=False)
    assert response.headers["location"] == "/login?next=/sources%3Fq%3Dpets"


def test_an_htmx_request_without_session_moves_the_whole_page_to_login(anonymous):
    response = anonymous.client.get(
        "/synchronizations/1/runs/abc", headers={"HX-Request": "true"}, follow_redirects=False
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/synchronizations/1/runs/abc"


@pytest.mark.parametrize("path", FORMS)
def test_a_form_post_without_session_is_not_carried_out(anonymous, path):
    response = anonymous.post(path, {"name": "x"})
    assert response.status_code in (303, 403)
    assert EntityService("source", anonymous.client.app.state.context).count() == 0


def test_the_login_page_and_the_assets_are_open(anonymous):
    assert anonymous.get("/login").status_code == 200
    assert anonymous.client.get("/assets/style.css").status_code == 200
    assert anonymous.client.get("/assets/htmx.min.js").status_code == 200


@pytest.mark.parametrize("path", FORMS)
def test_a_form_post_without_its_csrf_token_is_refused(browser, path):
    response = browser.post(path, {"name": "Sneaky", "type": "api"}, csrf=False)
    assert response.status_code == 403
    assert EntityService("source", browser.client.app.state.context).count() == 0


def test_a_form_post_with_another_csrf_token_is_refused(browser):
    response = browser.client.post(
        "/sources", data={"name": "Sneaky", "type": "api", "csrf_token": "forged"}, follow_redirects=False
    )
    assert response.status_code == 403


def test_an_htmx_post_may_carry_the_token_in_a_header(browser):
    browser.get("/sources")
    response = browser.client.post(
        "/sources",
        data={"name": "Via htmx", "type": "api"},
        headers={"X-CSRF-Token": browser.csrf, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_the_login_form_itself_needs_its_csrf_token(anonymous):
    response = anonymous.post("/login", {"username": "admin", "password": "admin"}, csrf=False)
    assert response.status_code == 403
    assert anonymous.client.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_password_shows_an_error_and_logs_nobody_in(anonymous):
    response = anonymous.login(password="wrong")
    assert response.status_code == 400
    assert "Wrong username or password" in response.text
    assert anonymous.client.get("/", follow_redirects=False).status_code == 303


def test_logging_in_goes_to_the_page_asked_for_but_never_off_site(anonymous):
    anonymous.get("/login?next=/sources")
    response = anonymous.post("/login", {"username": "admin", "password": "admin", "next": "/sources"})
    assert response.headers["location"] == "/sources"
    anonymous.post("/logout")
    anonymous.get("/login")
    response = anonymous.post("/login", {"username": "admin", "password": "admin", "next": "//evil.example"})
    assert response.headers["location"] == "/"


def test_the_session_cookie_is_httponly_and_samesite_lax(anonymous):
    anonymous.get("/login")
    response = anonymous.post("/login", {"username": "admin", "password": "admin"})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_logging_out_ends_the_session(browser):
    assert browser.get("/").status_code == 200
    assert browser.post("/logout").headers["location"] == "/login"
    assert browser.client.get("/", follow_redirects=False).status_code == 303


def test_the_session_key_lives_in_the_data_dir_readable_only_by_the_owner(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key=None)
    key = session_key(settings)
    path = tmp_path / "session.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert session_key(settings) == key


def test_the_session_key_derives_from_the_secret_key_but_differs_from_it(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key="s3cret")
    assert session_key(settings) == session_key(Settings(data_dir=tmp_path / "other", secret_key="s3cret"))
    assert "s3cret" not in session_key(settings)
    assert not (tmp_path / "session.key").exists()
