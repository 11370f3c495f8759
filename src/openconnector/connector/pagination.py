"""Pagination strategies: how to get from one page of an API to the next.

``CallService.pages`` fetches a page, finds its records, then asks a
paginator for the next request (or why there is none). Pick one with the
``pagination`` dict, or let ``AutoPaginator`` choose after the first page::

    {"type": "auto"}                                     default; see AutoPaginator
    {"type": "none"}                                     one request (usesPagination: false)
    {"type": "next", "nextPath": "links.next"}           next link in the body
    {"type": "link"}                                     Link: <...>; rel="next" header
    {"type": "page", "param": "page", "start": 1}        ?page=2, 3, ... until an empty page
    {"type": "offset", "offsetParam": "offset", "limitParam": "limit", "limit": 100}
    {"type": "cursor", "cursorPath": "meta.next_cursor", "param": "cursor"}

``page`` and ``offset`` also take ``totalPath`` (dot path of the total number
of pages resp. records) to stop without requesting an empty page.

Besides each strategy's own end, ``CallService.pages`` stops on an empty page,
a repeated page (a next URL seen before, or the same records as an earlier
page) and ``maxPages``; ``stop_reason`` says which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urljoin, urlsplit, urlunsplit

from openconnector.connector.records import MISSING, get_path
from openconnector.errors import BadRequest

__all__ = [
    "NEXT_LINK_PATHS",
    "STOP_EMPTY",
    "STOP_LAST",
    "STOP_MAX_PAGES",
    "STOP_NO_CURSOR",
    "STOP_NO_NEXT",
    "STOP_REPEATED",
    "STOP_SHORT",
    "STOP_SINGLE",
    "AutoPaginator",
    "CursorPaginator",
    "LinkHeaderPaginator",
    "NextLinkPaginator",
    "OffsetPaginator",
    "PageContext",
    "PageNumberPaginator",
    "PageRequest",
    "Paginator",
    "SinglePagePaginator",
    "from_source_config",
    "integer_step",
    "join_location",
    "make_paginator",
    "split_url",
    "total_pages_hint",
]

STOP_EMPTY = "empty page"
STOP_REPEATED = "repeated page"
STOP_NO_NEXT = "no next link"
STOP_NO_CURSOR = "no next cursor"
STOP_MAX_PAGES = "maxPages reached"
STOP_SHORT = "short page"
STOP_LAST = "last page reached"
STOP_SINGLE = "pagination off"

#: Where ``AutoPaginator`` and ``NextLinkPaginator`` look for a next link, in order.
NEXT_LINK_PATHS = (
    "next",  # DRF, the original's link mode
    "links.next",  # JSON:API, Laravel resources
    "_links.next.href",  # HAL
    "_links.next",
    "next_page_url",  # Laravel paginator
    "@odata.nextLink",  # OData v4
    "odata.nextLink",
    "nextLink",
    "meta.next",
    "paging.next",  # Graph-style
    "pagination.next",
    "meta.pagination.links.next",  # Fractal
    "hydra:view.hydra:next",  # Hydra (API Platform)
    "view.next",
)


@dataclass
class PageRequest:
    """The URL (without query) and query parameters of one page request."""

    url: str
    query: dict[str, Any] = field(default_factory=dict)

    def key(self) -> str:
        """A stable identity, to notice a request made before."""
        pairs = sorted((str(k), str(v)) for k, v in self.query.items())
        return self.url + "?" + "&".join(f"{k}={v}" for k, v in pairs)


@dataclass
class PageContext:
    """What a paginator sees of the page just fetched."""

    number: int
    request: PageRequest
    url: str  # the full URL that was fetched (for resolving relative links)
    body: Any
    headers: Mapping[str, str]
    records: list[Any]


def join_location(location: str, endpoint: str) -> str:
    """The URL of ``endpoint`` on a source at ``location``: ``path + endpoint ? merged query``.

    The original glues the two strings together, so a location that carries a
    query string (``https://api.example/v1?access=KEY``) plus ``/items?page=2``
    became ``...?access=KEY/items?page=2``: the endpoint ended up inside the
    key's value. Here the endpoint's path follows the location's path, and the
    query is the location's parameters followed by the endpoint's, an endpoint
    parameter replacing a location parameter of the same name. An absolute
    ``http(s)://`` endpoint is used as it is. Parameters keep their encoding.
    """
    if endpoint.startswith(("http://", "https://")):
        return endpoint
    base, _, base_fragment = location.partition("#")
    base_path, has_base_query, base_query = base.partition("?")
    if not has_base_query:
        return f"{location}{endpoint}" if not base_fragment else f"{base}{endpoint}"
    extra, _, fragment = endpoint.partition("#")
    extra_path, _, extra_query = extra.partition("?")
    extra_pairs = [pair for pair in extra_query.split("&") if pair]
    extra_names = {_param_name(pair) for pair in extra_pairs}
    pairs = [pair for pair in base_query.split("&") if pair and _param_name(pair) not in extra_names]
    pairs.extend(extra_pairs)
    url = base_path + extra_path
    if pairs:
        url += "?" + "&".join(pairs)
    return url + (f"#{fragment}" if fragment else "")


def _param_name(pair: str) -> str:
    return unquote_plus(pair.partition("=")[0])


def split_url(url: str) -> PageRequest:
    """Split ``https://x/y?a=1`` into ``PageRequest("https://x/y", {"a": "1"})``."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return PageRequest(urlunsplit((parts.scheme, parts.netloc, parts.path, "", parts.fragment)), query)


class Paginator:
    """Base: one page only. Subclasses override ``first`` and ``next``."""

    name = "none"

    def __init__(self) -> None:
        self.stop_reason: str | None = None

    def first(self, request: PageRequest) -> PageRequest:
        """The first request (a page/offset paginator may add its parameters)."""
        return request

    def next(self, page: PageContext) -> PageRequest | None:
        """The next request, or None after setting ``stop_reason``."""
        self.stop_reason = STOP_SINGLE
        return None

    def predict(self, request: PageRequest, ahead: int) -> PageRequest | None:
        """The request ``ahead`` pages after ``request`` when it does not depend on any
        page's contents (page numbers, offsets), else None. Never changes state: ``next``
        still decides, page by page, whether that request comes at all."""
        return None

    def total_pages(self, body: Any, records: int) -> int | None:
        """How many pages the listing has, when this paginator's settings say where to read it."""
        return None

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        return None


class SinglePagePaginator(Paginator):
    """No pagination: one request (the original's ``usesPagination: false``)."""


def _link_value(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("href")
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _follow(page: PageContext, link: str) -> PageRequest:
    """Resolve ``link`` against the fetched URL, keeping query params it lacks.

    APIs often drop filters from their next links (``?status=available`` is
    lost on page 2); the original keeps them, and so do we.
    """
    target = split_url(urljoin(page.url, link))
    kept = {k: v for k, v in page.request.query.items() if k not in target.query}
    target.query = {**kept, **target.query}
    return target


class NextLinkPaginator(Paginator):
    """Follows a next link in the body::

        {"results": [...], "next": "https://api.example.com/pets?page=3"}
        {"data": [...], "links": {"next": "/pets?cursor=abc"}}      (relative links resolved)

    ``nextPath`` names the link's dot path; without it ``NEXT_LINK_PATHS`` are
    tried. A missing, null or empty link ends pagination (``no next link``).
    """

    name = "next"

    def __init__(self, next_path: str | None = None) -> None:
        super().__init__()
        self.next_path = next_path

    def find_link(self, body: Any) -> str | None:
        paths = (self.next_path,) if self.next_path else NEXT_LINK_PATHS
        for path in paths:
            value = get_path(body, path)
            if value is not MISSING:
                link = _link_value(value)
                if link:
                    return link
        return None

    def next(self, page: PageContext) -> PageRequest | None:
        link = self.find_link(page.body)
        if not link:
            return self._stop(STOP_NO_NEXT)
        return _follow(page, link)


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL_NEXT = re.compile(r"""rel\s*=\s*"?([^";]*)"?""", re.IGNORECASE)


def parse_link_header(value: str) -> dict[str, str]:
    """``<a>; rel="next", <b>; rel="last"`` → ``{"next": "a", "last": "b"}``."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(value or ""):
        url, params = match.groups()
        rel = _REL_NEXT.search(params)
        if rel:
            for name in rel.group(1).split():
                links.setdefault(name.lower(), url)
    return links


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class LinkHeaderPaginator(Paginator):
    """Follows the ``Link`` header (RFC 8288), as GitHub and many REST APIs send it::

        HTTP/1.1 200 OK
        Link: <https://api.example.com/pets?page=3>; rel="next", <...?page=9>; rel="last"

        [{"id": 21}, ...]

    A missing ``next`` relation ends pagination (``no next link``).
    """

    name = "link"

    @staticmethod
    def find_link(headers: Mapping[str, str]) -> str | None:
        return parse_link_header(_header(headers, "link") or "").get("next")

    def next(self, page: PageContext) -> PageRequest | None:
        link = self.find_link(page.headers)
        if not link:
            return self._stop(STOP_NO_NEXT)
        return _follow(page, link)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _count(value: Any) -> int | None:
    """A positive whole number from a body (``12``, ``"12"``), else None (``True`` is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    number = _int(value)
    return number if number is not None and number > 0 else None


#: Where a first answer often says how many pages (resp. records) a listing has.
PAGE_COUNT_PATHS = (
    "totalPages",
    "total_pages",
    "pageCount",
    "page_count",
    "last_page",
    "lastPage",
    "meta.totalPages",
    "meta.total_pages",
    "meta.last_page",
    "meta.pagination.total_pages",
    "page.totalPages",  # Spring Data
    "pagination.totalPages",
    "pagination.total_pages",
)
RECORD_COUNT_PATHS = (
    "count",  # DRF
    "total",
    "totalCount",
    "total_count",
    "totalResults",
    "totalItems",
    "meta.total",
    "meta.count",
    "meta.pagination.total",
    "pagination.total",
    "page.totalElements",  # Spring Data
    "@odata.count",
    "hydra:totalItems",
)


def total_pages_hint(paginator: Paginator, body: Any, records: int) -> int | None:
    """How many pages a listing has, from the first answer: the paginator's ``totalPath``,
    else a well-known page-count or record-count field (record count / first page's size).

    Only a bound on how far ahead pages are requested at once, never a reason to stop:
    a wrong hint costs a few requests or a little speed, not records.
    """
    known = paginator.total_pages(body, records)
    if known is not None or not isinstance(body, Mapping):
        return known
    for path in PAGE_COUNT_PATHS:
        pages = _count(get_path(body, path, None))
        if pages is not None:
            return pages
    if records > 0:
        for path in RECORD_COUNT_PATHS:
            total = _count(get_path(body, path, None))
            if total is not None:
                return -(-total // records)
    return None


def integer_step(before: PageRequest, after: PageRequest) -> tuple[str, int] | None:
    """``(param, delta)`` when two requests differ in exactly one whole-number query
    parameter (``?page=3`` → ``?page=4``: ``("page", 1)``), else None."""
    if before.url != after.url or before.query.keys() != after.query.keys():
        return None
    changed = [k for k in after.query if str(after.query[k]) != str(before.query[k])]
    if len(changed) != 1:
        return None
    old, new = _int(before.query[changed[0]]), _int(after.query[changed[0]])
    if old is None or new is None or old == new:
        return None
    return changed[0], new - old


class PageNumberPaginator(Paginator):
    """Counts pages in a query parameter::

        GET /pets              → {"items": [...], "total_pages": 3}
        GET /pets?page=2       → {"items": [...]}
        GET /pets?page=4       → {"items": []}            stops: empty page

    Like the original, the first request goes without the parameter (page
    ``start`` is implied) unless ``sendFirst`` is true, then ``start+1``,
    ``start+2``, ... With ``totalPath`` (total number of pages) it stops at
    the last page without asking for an empty one. ``sizeParam``/``size``
    add a page size to every request.
    """

    name = "page"

    def __init__(
        self,
        param: str = "page",
        start: int = 1,
        *,
        send_first: bool = False,
        total_path: str | None = None,
        size_param: str | None = None,
        size: int | None = None,
    ) -> None:
        super().__init__()
        self.param = param
        self.start = start
        self.current = start
        self.send_first = send_first
        self.total_path = total_path
        self.size_param = size_param
        self.size = size

    def first(self, request: PageRequest) -> PageRequest:
        query = dict(request.query)
        # A resumed run (currentPage > 1) must send its page even if page 1 would not.
        if self.send_first or self.current != self.start:
            query[self.param] = self.current
        if self.size_param and self.size:
            query[self.size_param] = self.size
        return PageRequest(request.url, query)

    def next(self, page: PageContext) -> PageRequest | None:
        if self.total_path:
            total = _int(get_path(page.body, self.total_path, None))
            if total is not None and self.current >= total + self.start - 1:
                return self._stop(STOP_LAST)
        self.current += 1
        return PageRequest(page.request.url, {**page.request.query, self.param: self.current})

    def predict(self, request: PageRequest, ahead: int) -> PageRequest | None:
        number = _int(request.query.get(self.param, self.start))
        if number is None:
            return None
        return PageRequest(request.url, {**request.query, self.param: number + ahead})

    def total_pages(self, body: Any, records: int) -> int | None:
        if not self.total_path:
            return None
        return _count(get_path(body, self.total_path, None))


class OffsetPaginator(Paginator):
    """Moves an offset by the limit::

        GET /pets?offset=0&limit=100    → {"data": [... 100 ...], "total": 250}
        GET /pets?offset=100&limit=100  → {"data": [... 100 ...]}
        GET /pets?offset=200&limit=100  → {"data": [... 50 ...]}     stops: short page

    Stops on a page with fewer records than ``limit`` or, with ``totalPath``,
    once the offset passes the total.
    """

    name = "offset"

    def __init__(
        self,
        offset_param: str = "offset",
        limit_param: str = "limit",
        limit: int = 100,
        start: int = 0,
        *,
        total_path: str | None = None,
    ) -> None:
        super().__init__()
        if limit <= 0:
            raise BadRequest(f"pagination.limit must be a positive number, not {limit}")
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.limit = limit
        self.offset = start
        self.total_path = total_path

    def first(self, request: PageRequest) -> PageRequest:
        return PageRequest(
            request.url, {**request.query, self.offset_param: self.offset, self.limit_param: self.limit}
        )

    def next(self, page: PageContext) -> PageRequest | None:
        if len(page.records) < self.limit:
            return self._stop(STOP_SHORT)
        self.offset += self.limit
        if self.total_path:
            total = _int(get_path(page.body, self.total_path, None))
            if total is not None and self.offset >= total:
                return self._stop(STOP_LAST)
        return PageRequest(page.request.url, {**page.request.query, self.offset_param: self.offset})

    def predict(self, request: PageRequest, ahead: int) -> PageRequest | None:
        offset = _int(request.query.get(self.offset_param))
        if offset is None:
            return None
        return PageRequest(request.url, {**request.query, self.offset_param: offset + ahead * self.limit})

    def total_pages(self, body: Any, records: int) -> int | None:
        if not self.total_path:
            return None
        total = _count(get_path(body, self.total_path, None))
        return None if total is None else -(-total // self.limit)


class CursorPaginator(Paginator):
    """Sends the cursor the previous page returned::

        GET /events                    → {"data": [...], "meta": {"next_cursor": "b2Zmc2V0PTIw"}}
        GET /events?cursor=b2Zmc2V0PTIw → {"data": [...], "meta": {"next_cursor": null}}   stops

    A missing, null or empty cursor ends pagination (``no next cursor``).
    """

    name = "cursor"

    def __init__(self, cursor_path: str = "meta.next_cursor", param: str = "cursor") -> None:
        super().__init__()
        self.cursor_path = cursor_path
        self.param = param

    def next(self, page: PageContext) -> PageRequest | None:
        cursor = get_path(page.body, self.cursor_path, None)
        if cursor is None or cursor == "" or cursor is False:
            return self._stop(STOP_NO_CURSOR)
        return PageRequest(page.request.url, {**page.request.query, self.param: cursor})


class AutoPaginator(Paginator):
    """Chooses a strategy from the first page, then sticks to it.

    1. a ``Link: <...>; rel="next"`` header → ``LinkHeaderPaginator``;
    2. a body object with one of ``NEXT_LINK_PATHS`` (even null, as the
       original checks for a top-level ``next`` key) → ``NextLinkPaginator``;
    3. otherwise page numbers, as the original: ``?page=2, 3, ...`` until a
       page is empty. An API that ignores ``page`` and repeats its list (the
       Pet Store's ``findByStatus``) costs one extra request and then stops
       as a repeated page instead of running to ``maxPages``.
    """

    name = "auto"

    def __init__(self, param: str = "page", start: int = 1) -> None:
        super().__init__()
        self.param = param
        self.start = start
        self.chosen: Paginator | None = None

    def next(self, page: PageContext) -> PageRequest | None:
        if self.chosen is None:
            self.chosen = self._choose(page)
            self.name = f"auto:{self.chosen.name}"
        request = self.chosen.next(page)
        self.stop_reason = self.chosen.stop_reason
        return request

    def predict(self, request: PageRequest, ahead: int) -> PageRequest | None:
        return self.chosen.predict(request, ahead) if self.chosen is not None else None

    def total_pages(self, body: Any, records: int) -> int | None:
        return self.chosen.total_pages(body, records) if self.chosen is not None else None

    def _choose(self, page: PageContext) -> Paginator:
        if LinkHeaderPaginator.find_link(page.headers):
            return LinkHeaderPaginator()
        if isinstance(page.body, Mapping):
            for path in NEXT_LINK_PATHS:
                if get_path(page.body, path) is not MISSING:
                    return NextLinkPaginator(path)
        return PageNumberPaginator(self.param, self.start)


_TYPES = ("auto", "none", "next", "link", "page", "offset", "cursor")


def make_paginator(pagination: Mapping[str, Any] | None) -> Paginator:
    """A paginator from a ``pagination`` dict (see the module docstring)."""
    config = dict(pagination or {})
    kind = str(config.get("type") or "auto").lower()
    if kind == "auto":
        return AutoPaginator(str(config.get("param") or "page"), _int(config.get("start")) or 1)
    if kind in ("none", "single", "false"):
        return SinglePagePaginator()
    if kind in ("next", "body", "next_link"):
        return NextLinkPaginator(config.get("nextPath"))
    if kind in ("link", "link_header", "header"):
        return LinkHeaderPaginator()
    if kind in ("page", "page_number"):
        paginator = PageNumberPaginator(
            str(config.get("param") or "page"),
            _int(config.get("start")) or 1,
            send_first=bool(config.get("sendFirst", False)),
            total_path=config.get("totalPath"),
            size_param=config.get("sizeParam"),
            size=_int(config.get("size")),
        )
        current = _int(config.get("current"))
        if current:
            paginator.current = current
        return paginator
    if kind == "offset":
        limit = _int(config.get("limit"))
        return OffsetPaginator(
            str(config.get("offsetParam") or "offset"),
            str(config.get("limitParam") or "limit"),
            100 if limit is None else limit,
            _int(config.get("start")) or 0,
            total_path=config.get("totalPath"),
        )
    if kind == "cursor":
        return CursorPaginator(
            str(config.get("cursorPath") or "meta.next_cursor"), str(config.get("param") or "cursor")
        )
    raise BadRequest(
        f'Unknown pagination type "{config.get("type")}"; valid: {", ".join(_TYPES)}',
        pagination=config,
    )


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in ("false", "0", "no"))


def from_source_config(source_config: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """``(pagination, max_pages)`` from a synchronisation's ``sourceConfig``.

    Reads the original keys ``usesPagination`` (false → one call),
    ``paginationQuery`` (page parameter, default ``page``) and ``maxPages``
    (default 50), and our ``pagination`` object, which wins when present.
    """
    max_pages = _int(source_config.get("maxPages")) or 50
    explicit = source_config.get("pagination")
    if isinstance(explicit, Mapping):
        return dict(explicit), max_pages
    if _false(source_config.get("usesPagination", True)):
        return {"type": "none"}, max_pages
    return {"type": "auto", "param": str(source_config.get("paginationQuery") or "page")}, max_pages
