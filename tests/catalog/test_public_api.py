"""The anonymous public catalog: the tutorial's datasets, and the one publication rule.

An object is public when its ``publicatiedatum`` is present and not after now.
Every route (list, detail, search, facets, the DCAT feed) must agree, for
anonymous visitors and logged-in admins alike, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from rdflib import Graph
from rdflib.namespace import DCAT, RDF

from openconnector.catalog.service import CatalogService
from openconnector.catalog.woo import install_woo
from openconnector.register.objects import ObjectService
from openconnector.register.registers import RegisterService

API = "/index.php/apps/opencatalogi/api"
OC = "/index.php/apps/openconnector/api"
OR = "/index.php/apps/openregister/api"
HEADERS = {"OCS-APIRequest": "true", "Content-Type": "application/json"}


def twig_now(moment: datetime, timezone: str = "Europe/Amsterdam") -> str:
    """What ``"now"|date("Y-m-d H:i:s")`` renders at ``moment``: naive local time."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def save(context: Any, *items: dict[str, Any]) -> list[dict[str, Any]]:
    return ObjectService(context).save_objects(list(items), "dcat", "dataset")  # type: ignore[return-value]


def feed_datasets(body: bytes, fmt: str = "turtle") -> set[str]:
    graph = Graph().parse(data=body, format=fmt)
    return {str(s).rsplit("/", 1)[-1] for s in graph.subjects(RDF.type, DCAT.Dataset)}


# -- the tutorial, end to end ----------------------------------------------------------------


def test_init_woo_then_the_tutorial_sync_lists_eight_public_datasets(live_server, settings, fake_api):
    env = {**os.environ, "OPENCONNECTOR_TIMEZONE": settings.timezone}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openconnector.cli",
            "init",
            "woo",
            "--json",
            "--data-dir",
            str(settings.data_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert '"catalog": "created"' in done.stdout

    with live_server.client(("admin", "admin"), headers=HEADERS) as admin:
        source = admin.post(
            f"{OC}/sources",
            json={
                "name": "Swagger Pet Store",
                "type": "api",
                "location": f"{fake_api.url}/api/v3",
                "auth": "none",
                "isEnabled": True,
            },
        ).json()
        mapping = admin.post(
            f"{OC}/mappings",
            content=r"""{ "name": "Pet to dataset", "mapping": {
"title": "{{ name }}", "category": "{{ category.name }}", "status": "Published",
"publicatiedatum": "{{ \"now\"|date(\"Y-m-d H:i:s\") }}" } }""",
        ).json()
        sync = admin.post(
            f"{OC}/synchronizations",
            json={
                "name": "Pet store to datasets",
                "sourceId": source["id"],
                "sourceType": "api",
                "sourceTargetMapping": mapping["id"],
                "sourceConfig": {
                    "endpoint": "/pet/findByStatus?status=available",
                    "idPosition": "id",
                    "resultsPosition": "_root",
                },
                "targetType": "register/schema",
                "targetId": "dcat/dataset",
            },
        ).json()
        run = admin.post(f"{OC}/synchronizations/{sync['id']}/run")
        assert run.status_code == 200, run.text
        assert run.json()["result"]["objects"]["created"] == 8

        # two more datasets by hand: one published a minute from now, one never
        later = twig_now(datetime.now(UTC) + timedelta(minutes=1))
        future = admin.post(
            f"{OR}/objects/dcat/dataset",
            json={
                "title": "Rex (coming soon)",
                "category": "Dogs",
                "status": "Published",
                "publicatiedatum": later,
            },
        ).json()
        undated = admin.post(
            f"{OR}/objects/dcat/dataset",
            json={"title": "Rex (draft)", "category": "Dogs", "status": "Concept"},
        ).json()

    with live_server.client() as anonymous:
        listed = anonymous.get(f"{API}/publications")
        assert listed.status_code == 200
        assert listed.headers["access-control-allow-origin"] == "*"
        page = listed.json()
        assert page["total"] == 8 and page["@catalog"] == {"slug": "publications", "title": "Publicaties"}
        assert {d["title"] for d in page["results"]} == {
            "Bella",
            "Max",
            "Luna",
            "Charlie",
            "Lucy",
            "Cooper",
            "Daisy",
            "Milo",
        }
        assert {d["theme"] for d in page["results"]} == {"AGRI"}  # Dogs/Cats/Rabbits via themeMapping
        assert all("owner" not in d["@self"] for d in page["results"])
        assert anonymous.get("/apps/opencatalogi/api/publications").json()["total"] == 8

        one = page["results"][0]
        assert anonymous.get(f"{API}/publications/{one['id']}").json()["title"] == one["title"]
        for hidden in (future, undated):
            assert anonymous.get(f"{API}/publications/{hidden['id']}").status_code == 404
        assert anonymous.get(f"{API}/publications", params={"_search": "rex"}).json()["total"] == 0
        facets = anonymous.get(f"{API}/publications", params={"_facets[category][type]": "terms"}).json()
        assert {b["key"]: b["results"] for b in facets["facets"]["category"]["buckets"]} == {
            "Dogs": 4,
            "Cats": 3,
            "Rabbits": 1,
        }

        feed = anonymous.get(f"{API}/catalogs/publications/dcat", headers={"Accept": "text/turtle"})
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/turtle")
        assert feed_datasets(feed.content) == {d["id"] for d in page["results"]}


# -- the rule on SQLite and PostgreSQL --------------------------------------------------------


def test_future_and_undated_datasets_are_invisible_in_list_detail_search_facets_and_feed(
    any_client, any_context
):
    install_woo(any_context)
    now = datetime.now(UTC).replace(microsecond=0)
    shown, future, undated = save(
        any_context,
        {"title": "Bella", "category": "Dogs", "publicatiedatum": (now - timedelta(seconds=1)).isoformat()},
        {
            "title": "Bella junior",
            "category": "Dogs",
            "publicatiedatum": (now + timedelta(minutes=1)).isoformat(),
        },
        {"title": "Bella senior", "category": "Dogs"},
    )
    for auth in (None, ("admin", "admin")):  # credentials change nothing on public routes

        def get(path: str, auth: Any = auth, **kw: Any) -> httpx.Response:
            return any_client.get(f"{API}{path}", auth=auth, **kw)

        listed = get("/publications").json()
        assert [d["id"] for d in listed["results"]] == [shown["id"]] and listed["total"] == 1
        assert get("/publications", params={"_search": "bella"}).json()["total"] == 1
        assert get("/publications", params={"category": "Dogs"}).json()["total"] == 1
        assert get("/publications", params={"_order[title]": "desc"}).json()["total"] == 1
        facets = get("/publications", params={"_facets": "category", "_limit": "0"}).json()
        assert facets["facets"]["category"]["buckets"] == [{"key": "Dogs", "results": 1, "label": "Dogs"}]
        assert facets["results"] == [] and facets["total"] == 1
        assert get(f"/publications/{shown['id']}").status_code == 200
        for hidden in (future, undated):
            missing = get(f"/publications/{hidden['id']}")
            assert missing.status_code == 404
            assert missing.json() == {
                "error": "Publication not found",
                "id": hidden["id"],
                "catalogSlug": "publications",
                "message": f"Object {hidden['id']!r} not found in catalog 'publications'",
            }
        feed = get("/catalogs/publications/dcat", params={"format": "turtle"})
        assert feed_datasets(feed.content) == {shown["id"]}
        instance = get("/dcat", params={"format": "turtle"})
        assert feed_datasets(instance.content) == {shown["id"]}


# -- the boundary around now ------------------------------------------------------------------

NOW_CASES = {
    "one second ago, UTC": (lambda now: (now - timedelta(seconds=1)).isoformat(), True),
    "one minute ahead, UTC": (lambda now: (now + timedelta(minutes=1)).isoformat(), False),
    "one second ago, Z": (lambda now: (now - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), True),
    "naive local time just before now (Twig's now)": (lambda now: twig_now(now - timedelta(seconds=1)), True),
    "naive local time a minute ahead": (lambda now: twig_now(now + timedelta(minutes=1)), False),
    # a naive value is Amsterdam time (UTC+1/+2), so UTC's wall clock reads as an hour or two ago
    "naive UTC wall clock (read as local: in the past)": (
        lambda now: now.strftime("%Y-%m-%d %H:%M:%S"),
        True,
    ),
    "date only, today (local)": (
        lambda now: now.astimezone(ZoneInfo("Europe/Amsterdam")).date().isoformat(),
        True,
    ),
    "date only, tomorrow (local)": (
        lambda now: (now.astimezone(ZoneInfo("Europe/Amsterdam")) + timedelta(days=1)).date().isoformat(),
        False,
    ),
    "+01:00, thirty seconds ago": (
        lambda now: (now - timedelta(seconds=30)).astimezone(ZoneInfo("Etc/GMT-1")).isoformat(),
        True,
    ),
    "+01:00, one minute ahead": (
        lambda now: (now + timedelta(minutes=1)).astimezone(ZoneInfo("Etc/GMT-1")).isoformat(),
        False,
    ),
    "-05:00, one minute ahead": (
        lambda now: (now + timedelta(minutes=1)).astimezone(ZoneInfo("Etc/GMT+5")).isoformat(),
        False,
    ),
}


@pytest.mark.parametrize("case", list(NOW_CASES))
def test_publicatiedatum_around_now_decides_visibility(client, context, case):
    make, visible = NOW_CASES[case]
    install_woo(context)
    now = datetime.now(UTC).replace(microsecond=0)
    value = make(now)
    (saved,) = save(context, {"title": "Bella", "publicatiedatum": value})
    listed = client.get(f"{API}/publications", auth=None).json()
    detail = client.get(f"{API}/publications/{saved['id']}", auth=None)
    assert (listed["total"] == 1) is visible, (value, saved["publicatiedatum"])
    assert (detail.status_code == 200) is visible


def test_an_object_becomes_public_at_its_publicatiedatum_to_the_second(context):
    install_woo(context)
    save(context, {"title": "Bella", "publicatiedatum": "2030-01-01T13:00:00+01:00"})
    catalogs = CatalogService(context)
    moment = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert catalogs.publications("publications", now=moment - timedelta(seconds=1))["total"] == 0
    assert catalogs.publications("publications", now=moment)["total"] == 1


def test_a_date_only_publicatiedatum_is_public_from_midnight_local_time(context):
    registers = RegisterService(context)
    registers.create_register({"title": "Agenda", "slug": "agenda"})
    registers.create_schema(
        {
            "title": "Meeting",
            "slug": "meeting",
            "register": "agenda",
            "properties": {
                "title": {"type": "string"},
                "publicatiedatum": {"type": "string", "format": "date"},
            },
        },
        register="agenda",
    )
    catalogs = CatalogService(context)
    catalogs.create({"title": "Vergaderingen", "registers": ["agenda"], "schemas": ["meeting"]})
    ObjectService(context).save_object(
        {"title": "Raad", "publicatiedatum": "2030-01-02"}, "agenda", "meeting"
    )
    midnight_amsterdam = datetime(2030, 1, 1, 23, 0, 0, tzinfo=UTC)
    assert catalogs.publications("vergaderingen", now=midnight_amsterdam - timedelta(seconds=1))["total"] == 0
    assert catalogs.publications("vergaderingen", now=midnight_amsterdam)["total"] == 1


# -- membership, errors, credentials -----------------------------------------------------------


def test_an_object_outside_the_catalogs_registers_and_schemas_is_404(client, context):
    install_woo(context)
    registers = RegisterService(context)
    registers.create_register({"title": "Elsewhere"})
    registers.create_schema(
        {
            "title": "Note",
            "properties": {
                "title": {"type": "string"},
                "publicatiedatum": {"type": "string", "format": "date-time"},
            },
        },
        register="elsewhere",
    )
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    other = ObjectService(context).save_object(
        {"title": "Secret", "publicatiedatum": past}, "elsewhere", "note"
    )
    source = client.post(f"{OC}/sources", json={"name": "S", "type": "api", "location": "http://x"}).json()
    for object_id in (other["id"], source["id"], "not-a-uuid", "1"):
        response = client.get(f"{API}/publications/{object_id}", auth=None)
        assert response.status_code == 404, object_id
        assert response.json()["error"] == "Publication not found"


def test_unknown_catalogs_and_reserved_names_are_404_with_the_error_shape(client, context):
    missing = client.get(f"{API}/nope", auth=None)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "Catalog not found",
        "message": "Catalog 'nope' not found",
        "catalogSlug": "nope",
    }
    assert missing.headers["access-control-allow-origin"] == "*"
    assert client.get(f"{API}/nope/0f4c0c6e-0000-4000-8000-000000000001", auth=None).status_code == 404
    for reserved in ("search", "catalogi/x"):
        assert client.get(f"{API}/{reserved}", auth=None).status_code == 404


def test_the_default_catalog_answers_empty_before_init_woo(client):
    page = client.get(f"{API}/publications", auth=None).json()
    assert page == {
        "results": [],
        "total": 0,
        "totalCapped": False,
        "page": 1,
        "pages": 1,
        "limit": 20,
        "offset": 0,
        "@catalog": {"slug": "publications", "title": "Publications"},
    }


def test_public_routes_ignore_credentials_even_wrong_ones(client, context):
    install_woo(context)
    save(context, {"title": "Bella", "publicatiedatum": "2020-01-01T00:00:00+00:00"}, {"title": "Hidden"})
    anonymous = client.get(f"{API}/publications", auth=None).json()
    for auth in (("admin", "admin"), ("admin", "wrong")):
        answer = client.get(f"{API}/publications", auth=auth)
        assert answer.status_code == 200 and answer.json() == anonymous
    assert client.get(f"{API}/catalogs", auth=("admin", "wrong")).status_code == 401


def test_list_parameters_page_sort_and_filter_the_published_set(client, context):
    install_woo(context)
    past = "2020-01-01T00:00:00+00:00"
    save(
        context,
        *(
            {"title": f"Pet {n}", "category": "Dogs" if n % 2 else "Cats", "publicatiedatum": past}
            for n in range(5)
        ),
        {"title": "Pet 9", "category": "Dogs"},
    )
    page = client.get(
        f"{API}/publications", auth=None, params={"_limit": "2", "_page": "2", "_order[title]": "desc"}
    ).json()
    assert [d["title"] for d in page["results"]] == ["Pet 2", "Pet 1"]
    assert (page["total"], page["pages"], page["page"], page["offset"]) == (5, 3, 2, 2)
    dogs = client.get(f"{API}/publications", auth=None, params={"category": "Dogs"}).json()
    assert sorted(d["title"] for d in dogs["results"]) == ["Pet 1", "Pet 3"]
    bad = client.get(f"{API}/publications", auth=None, params={"_limit": "x"})
    assert bad.status_code == 400 and bad.json()["error"] == "Bad Request"


# -- CORS -------------------------------------------------------------------------------------


def test_public_routes_send_cors_headers_and_answer_preflights(client, context):
    install_woo(context)
    for path in ("/publications", "/catalogs/publications/dcat", "/dcat", "/catalogi"):
        response = client.get(f"{API}{path}", auth=None)
        assert response.headers.get("access-control-allow-origin") == "*", path
    preflight = client.options(
        f"{API}/publications",
        auth=None,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "GET" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "if-none-match"


def test_admin_catalog_routes_get_no_cors_headers(client):
    assert "access-control-allow-origin" not in client.get(f"{API}/catalogs").headers
    assert "access-control-allow-origin" not in client.get(f"{API}/catalogs/publications").headers
