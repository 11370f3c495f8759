"""Streaming pages with ``CallService.pages`` (``connector/pagination.py``)."""

from __future__ import annotations

import pytest

from openconnector.connector.pagination import from_source_config, make_paginator, parse_link_header
from openconnector.errors import BadRequest, SourceRejected, SourceUnavailable


def _ids(pages) -> list[int]:
    return [record["id"] for page in pages for record in page.records]


@pytest.mark.parametrize("style", ["next", "links", "hal", "odata", "hydra", "laravel"])
def test_next_links_in_the_body_are_followed_to_the_end(fake_api, calls, style):
    pages = calls.pages(fake_api.source(), "/paged/next", query={"style": style})

    fetched = list(pages)

    assert _ids(fetched) == list(range(1, 46))
    assert [p.number for p in fetched] == [1, 2, 3, 4, 5]
    assert pages.stop_reason == "no next link"
    assert fetched[-1].stop_reason == "no next link"
    assert pages.pages_fetched == 5 and pages.records == 45


def test_relative_next_links_are_resolved_against_the_request_url(fake_api, calls):
    pages = calls.pages(fake_api.source(), "/paged/next?relative=1", pagination={"type": "next"})

    assert _ids(pages) == list(range(1, 46))


def test_query_params_missing_from_next_links_are_kept(fake_api, calls):
    list(calls.pages(fake_api.source(), "/paged/next?tenant=utrecht", query={"style": "links", "lang": "nl"}))

    queries = [r.query for r in fake_api.requests]
    assert len(queries) == 5
    assert all(q["tenant"] == "utrecht" and q["lang"] == "nl" for q in queries)
    assert [q.get("page") for q in queries] == [None, "2", "3", "4", "5"]


def test_link_header_is_followed(fake_api, calls):
    pages = calls.pages(fake_api.source(), "/paged/link", query={"per_page": 20})

    assert [len(p.records) for p in pages] == [20, 20, 5]
    assert pages.stop_reason == "no next link"
    assert pages.paginator.name == "auto:link"


def test_page_numbers_start_without_a_param_and_stop_on_an_empty_page(fake_api, calls):
    pages = calls.pages(fake_api.source(), "/paged/page", pagination={"type": "page"})

    assert _ids(pages) == list(range(1, 46))
    assert [r.query.get("page") for r in fake_api.requests] == [None, "2", "3", "4", "5", "6"]
    assert pages.stop_reason == "empty page"


def test_page_numbers_stop_at_the_total_without_an_empty_request(fake_api, calls):
    pagination = {
        "type": "page",
        "sendFirst": True,
        "totalPath": "totalPages",
        "sizeParam": "pageSize",
        "size": 15,
    }

    pages = calls.pages(fake_api.source(), "/paged/page", pagination=pagination)

    assert [len(p.records) for p in pages] == [15, 15, 15]
    assert [r.query for r in fake_api.requests][0] == {"page": "1", "pageSize": "15"}
    assert pages.stop_reason == "last page reached"


def test_page_numbering_resumes_from_a_stored_current_page(fake_api, calls):
    pages = calls.pages(fake_api.source(), "/paged/page", pagination={"type": "page", "current": 4})

    assert _ids(pages) == list(range(31, 46))


def test_auto_pagination_falls_back_to_page_numbers_like_the_original(fake_api, calls):
    pages = calls.pages(fake_api.source(), "/paged/page", results_position="items")

    assert _ids(pages) == list(range(1, 46))
    assert pages.paginator.name == "auto:page"


def test_offset_pagination_stops_on_a_short_page(fake_api, calls):
    pagination = {"type": "offset", "offsetParam": "offset", "limitParam": "limit", "limit": 20}

    pages = calls.pages(fake_api.source(), "/paged/offset", pagination=pagination)

    assert [len(p.records) for p in pages] == [20, 20, 5]
    assert [r.query["offset"] for r in fake_api.requests] == ["0", "20", "40"]
    assert pages.stop_reason == "short page"


def test_offset_pagination_stops_at_the_total(fake_api, calls):
    fake_api.set_records(40)
    pagination = {"type": "offset", "limit": 20, "totalPath": "total"}

    pages = calls.pages(fake_api.source(), "/paged/offset", pagination=pagination)

    assert [len(p.records) for p in pages] == [20, 20]
    assert pages.stop_reason == "last page reached"


def test_cursor_pagination_follows_the_cursor(fake_api, calls):
    pagination = {"type": "cursor", "cursorPath": "meta.next_cursor", "param": "cursor"}

    pages = calls.pages(fake_api.source(), "/paged/cursor", query={"limit": 25}, pagination=pagination)

    assert _ids(pages) == list(range(1, 46))
    assert pages.stop_reason == "no next cursor"


def test_repeated_page_stops_pagination(fake_api, calls):
    pages = calls.pages(fake_api.source(), "/faults/repeat", pagination={"type": "page"})

    fetched = list(pages)

    assert len(fetched) == 1
    assert fake_api.hits("/faults/repeat") == 2
    assert pages.stop_reason == "repeated page"


def test_next_link_seen_before_stops_pagination(fake_api, calls):
    pages = calls.pages(fake_api.source(), "/faults/loop?page=1")

    assert len(list(pages)) == 2
    assert fake_api.hits("/faults/loop") == 2
    assert pages.stop_reason == "repeated page"


def test_pet_store_list_is_one_page_though_it_ignores_the_page_param(fake_api, calls):
    source = fake_api.source(location=fake_api.url + "/api/v3")

    pages = calls.pages(source, "/pet/findByStatus", query={"status": "available"})

    fetched = list(pages)
    assert [len(p.records) for p in fetched] == [8]
    assert fetched[0].where == "_root"
    assert pages.stop_reason == "repeated page"


def test_max_pages_caps_the_requests(fake_api, calls):
    pages = calls.pages(fake_api.source(), "/paged/next", max_pages=2)

    fetched = list(pages)

    assert len(fetched) == 2
    assert fake_api.hits("/paged/next") == 2
    assert pages.stop_reason == "maxPages reached"
    assert fetched[-1].stop_reason == "maxPages reached"


def test_pagination_off_makes_one_call(fake_api, calls):
    pagination, max_pages = from_source_config({"usesPagination": "false"})

    pages = calls.pages(fake_api.source(), "/paged/next", pagination=pagination, max_pages=max_pages)

    assert len(list(pages)) == 1
    assert pages.stop_reason == "pagination off"


def test_one_object_endpoint_is_one_page(fake_api, calls):
    source = fake_api.source(location=fake_api.url + "/api/v3")

    (page,) = calls.pages(source, "/pet/3", results_position="_object")

    assert page.records[0]["name"] == "Luna"
    assert fake_api.hits("/api/v3/pet/3") == 1


def test_server_error_on_page_3_raises_after_two_good_pages(fake_api, calls):
    pages = calls.pages(fake_api.source(), "/paged/page?failOn=3", pagination={"type": "page"})

    first, second = next(pages), next(pages)
    with pytest.raises(SourceUnavailable, match=r"returned 500 Internal Server Error \(page 3\)") as error:
        next(pages)

    assert _ids([first, second]) == list(range(1, 21))
    assert error.value.details["page"] == 3
    assert fake_api.hits("/paged/page") == 2 + 4  # page 3 tried 1 + 3 retries


def test_client_error_on_a_page_is_source_rejected(fake_api, calls):
    with pytest.raises(SourceRejected, match="returned 400 Bad Request"):
        list(calls.pages(fake_api.source(), "/paged/next", query={"style": "nonsense"}))


def test_missing_records_on_the_first_page_raise_records_not_found(fake_api, calls):
    with pytest.raises(
        SourceRejected, match=r'No records at resultsPosition "results": the response is an object'
    ):
        list(calls.pages(fake_api.source(), "/paged/offset", results_position="results"))


def test_invalid_json_page_is_source_rejected(fake_api, calls):
    with pytest.raises(SourceRejected, match="invalid JSON at"):
        list(calls.pages(fake_api.source(), "/faults/invalid-json"))


def test_pages_are_fetched_lazily(fake_api, calls):
    pages = calls.pages(fake_api.source(), "/paged/next")
    assert fake_api.requests == []

    next(pages)

    assert fake_api.hits("/paged/next") == 1


def test_page_repr_is_short(fake_api, calls):
    page = next(calls.pages(fake_api.source(), "/paged/next"))

    assert repr(page) == f"<Page 1: 10 records from {fake_api.url}/paged/next>"


# -- configuration ------------------------------------------------------------------------------


def test_unknown_pagination_type_is_a_bad_request_listing_valid_types():
    with pytest.raises(
        BadRequest, match='Unknown pagination type "pages"; valid: auto, none, next, link, page'
    ):
        make_paginator({"type": "pages"})


def test_source_config_keys_of_the_original_are_understood():
    assert from_source_config({}) == ({"type": "auto", "param": "page"}, 50)
    assert from_source_config({"paginationQuery": "p", "maxPages": "10"}) == (
        {"type": "auto", "param": "p"},
        10,
    )
    assert from_source_config({"usesPagination": False}) == ({"type": "none"}, 50)
    assert from_source_config({"pagination": {"type": "cursor"}, "usesPagination": False}) == (
        {"type": "cursor"},
        50,
    )


def test_link_headers_are_parsed():
    header = (
        '<https://x/p?page=3>; rel="next", <https://x/p?page=9>; rel="last", <https://x/p?page=1>; rel=first'
    )

    assert parse_link_header(header) == {
        "next": "https://x/p?page=3",
        "last": "https://x/p?page=9",
        "first": "https://x/p?page=1",
    }


def test_unreachable_page_error_says_which_page(fake_api, calls):
    source = fake_api.source(configuration={"timeout": 0.3, "retries": 0})
    pages = calls.pages(source, "/faults/slow?seconds=2", pagination={"type": "page"})

    with pytest.raises(SourceUnavailable, match="ReadTimeout") as error:
        next(pages)

    assert error.value.details["page"] == 1


def test_page_requests_can_post_a_json_body(fake_api, calls):
    (page,) = calls.pages(
        fake_api.source(),
        "/echo",
        method="POST",
        json={"filter": "dogs"},
        pagination={"type": "none"},
        results_position="_object",
    )

    assert page.records[0]["method"] == "POST"
    assert page.records[0]["body"] == '{"filter":"dogs"}'
