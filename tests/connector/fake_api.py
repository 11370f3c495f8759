"""A fake external API on 127.0.0.1 for connector and synchronisation tests.

The ``fake_api`` fixture (``tests/connector/conftest.py``) starts this app once
per test session with uvicorn in a thread and resets its state before every
test. Tests get a ``FakeApi``: ``fake_api.url`` is the base URL,
``fake_api.source(...)`` a ready source dict, and the attributes below control
the data and inspect the traffic.

Data
    ``pets``: the tutorial's Pet Store (8 available pets + 2 sold), served at
    ``/api/v3/pet/findByStatus?status=available`` as a bare list, and
    ``/api/v3/pet/{id}`` (GET/PUT/DELETE), ``/api/v3/pet`` (POST/PUT).
    Change them with ``rename_pet``, ``remove_pet``, ``add_pet``.
    ``records``: N generated records ``{"id": i, "name": "Record i", "value": 10·i}``
    (``set_records(n)``, default 45) behind every paginated endpoint.

Paginated endpoints (page size ``size``, default 10)
    ``/paged/next?style=...``   next link in the body; ``style`` one of
        ``next`` (DRF ``{"count","next","results"}``), ``links`` (JSON:API
        ``{"data","links":{"next"}}``), ``hal`` (``_embedded.records``,
        ``_links.next.href``), ``odata`` (``value``, ``@odata.nextLink``),
        ``hydra`` (``hydra:member``, ``hydra:view.hydra:next``), ``laravel``
        (``data``, ``next_page_url``); ``relative=1`` gives relative links.
        Links carry only ``page`` and ``size`` (and ``delay``, a wait per page):
        other params are dropped, as real APIs do.
    ``/paged/link``             bare list + ``Link: <...>; rel="next"`` header
    ``/paged/page``             ``{"items","page","totalPages"}``, ``?page=`` (1 when absent);
                                ``failOn=3`` answers 500 for page 3; ``delay=0.05`` waits
                                that long per page; ``tooManyOn=20`` answers page 20 once
                                with 429 + ``Retry-After: 1``; ``repeatOn=5`` serves page 4's
                                records again as page 5; ``limited=1`` applies ``rate_limit``
                                (refilled every ``reset_in`` seconds); ``noTotal=1`` leaves
                                ``totalPages`` out.
    ``/paged/offset``           ``{"data","total"}``, ``?offset=&limit=``
    ``/paged/cursor``           ``{"data","meta":{"next_cursor"}}``, ``?cursor=``

Summaries and details (``extraDataConfigs``)
    ``/summaries?page=&size=``  ``{"results": [{"id", "name"}], "next"}`` from ``records`` (size 100)
    ``/details/{id}``           ``{"id", "description", "value", "self"}`` after ``detail_delay`` s (0.05);
                                ids in ``detail_failures`` answer 500; ``detail_max_in_flight`` is the
                                most detail requests the server was answering at once
    ``/limited/details/{id}``   the same, at most ``window_limit`` per ``window`` seconds (X-RateLimit-*
                                headers, 429 beyond); ``limited_answers`` counts 200s and 429s

XML
    ``/xml/pets``               the pets as XML with attributes and nested lists
    ``/xml/bomb``, ``/xml/xxe`` a billion-laughs document and an external-entity file read

Files
    ``/files/{name}``           ``files[name]`` = ``(bytes, content type)``, streamed in 8 KB chunks,
                                with an ``ETag`` (of the bytes) and a ``Last-Modified`` (when ``put_file``
                                last changed them); ``If-None-Match``/``If-Modified-Since`` get a 304;
                                ``file_answers`` lists ``(name, status, body bytes sent)``;
                                ``file_delay`` seconds of waiting before each answer; names in
                                ``gone_files`` answer 410 Gone
    ``/documents``              ``{"results": documents}``: records whose fields link to files
    ``/generated.csv?rows=N``   a generated CSV (``id;title;amount``), streamed, never held whole

SOAP
    ``/soap?wsdl``              a hand-written WSDL (document/literal): operation ``ListZaken(status)``
    ``/soap`` (POST)            answers ``ListZakenResponse`` with a ``zaak`` per record whose status
                                (odd ids ``open``, even ``closed``) matches; status ``fault`` → a SOAP Fault

Faults
    ``/faults/repeat``          ignores ``page``: the same 10 records for ever
    ``/faults/loop``            next links cycling page 1 → 2 → 1 with different records
    ``/faults/slow?seconds=``   answers after a delay
    ``/faults/invalid-json``    a truncated JSON body
    ``/faults/retry-after?times=2&seconds=1&date=0``  429 + Retry-After ``times`` times, then 200
    ``/faults/flaky?times=2&status=503``  fails ``times`` times, then 200
    ``/ratelimit``              X-RateLimit-* headers from ``rate_limit(...)``; 429 when exhausted
    ``/echo``                   any method; returns method, path, query, headers, body; ``?status=``

Auth (credentials in ``credentials``; failures answer 401 and echo what they got,
to test that logs redact echoed secrets)
    ``/auth/basic``, ``/auth/bearer``, ``/auth/apikey`` (header ``X-Api-Key``),
    ``/auth/apikey-query`` (``?api_key=``), ``/auth/oauth`` (a token from
    ``/oauth/token``), ``/auth/jwt`` (``Authorization`` or ``X-Jwt`` header, verified with
    ``jwt_key``/``jwt_algorithms``; decoded claims kept in ``jwt_claims``).
    ``/oauth/token`` grants client_credentials (client in the body or Basic),
    tokens live ``token_lifetime`` s; ``tokens_issued`` counts them,
    ``revoke_tokens()`` invalidates them all.

Traffic
    ``requests`` lists every request (``method``, ``path``, ``query``,
    ``headers``, ``at``); ``hits(path)`` counts requests to a path;
    ``in_flight``/``max_in_flight`` count requests being answered at once;
    ``answers`` lists ``(time, status)`` of ``/paged/page`` answers.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import email.utils
import hashlib
import itertools
import re
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = ["FakeApi", "FakeApiServer", "RecordedRequest"]

PETS: list[dict[str, Any]] = [
    {"id": 1, "name": "Bella", "category": "Dogs"},
    {"id": 2, "name": "Max", "category": "Dogs"},
    {"id": 3, "name": "Luna", "category": "Cats"},
    {"id": 4, "name": "Charlie", "category": "Dogs"},
    {"id": 5, "name": "Lucy", "category": "Cats"},
    {"id": 6, "name": "Cooper", "category": "Dogs"},
    {"id": 7, "name": "Daisy", "category": "Rabbits"},
    {"id": 8, "name": "Milo", "category": "Cats"},
    {"id": 9, "name": "Rocky", "category": "Dogs", "status": "sold"},
    {"id": 10, "name": "Nala", "category": "Cats", "status": "sold"},
]
_CATEGORY_IDS = {"Dogs": 1, "Cats": 2, "Rabbits": 3}


WSDL = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="http://example.org/zaken"
  targetNamespace="http://example.org/zaken" name="Zaken">
  <types>
    <xs:schema targetNamespace="http://example.org/zaken" elementFormDefault="qualified">
      <xs:element name="ListZaken">
        <xs:complexType><xs:sequence><xs:element name="status" type="xs:string"/></xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="ListZakenResponse">
        <xs:complexType><xs:sequence>
          <xs:element name="zaak" minOccurs="0" maxOccurs="unbounded">
            <xs:complexType><xs:sequence>
              <xs:element name="id" type="xs:int"/>
              <xs:element name="omschrijving" type="xs:string"/>
              <xs:element name="status" type="xs:string"/>
            </xs:sequence></xs:complexType>
          </xs:element>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:schema>
  </types>
  <message name="ListZakenIn"><part name="parameters" element="tns:ListZaken"/></message>
  <message name="ListZakenOut"><part name="parameters" element="tns:ListZakenResponse"/></message>
  <portType name="ZakenPort">
    <operation name="ListZaken"><input message="tns:ListZakenIn"/><output message="tns:ListZakenOut"/></operation>
  </portType>
  <binding name="ZakenBinding" type="tns:ZakenPort">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="ListZaken">
      <soap:operation soapAction="http://example.org/zaken/ListZaken"/>
      <input><soap:body use="literal"/></input>
      <output><soap:body use="literal"/></output>
    </operation>
  </binding>
  <service name="ZakenService">
    <port name="ZakenPort" binding="tns:ZakenBinding"><soap:address location="{address}"/></port>
  </service>
</definitions>
"""


def _pet(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": raw["id"],
        "name": raw["name"],
        "status": raw.get("status", "available"),
        "category": {"id": _CATEGORY_IDS[raw["category"]], "name": raw["category"]},
        "photoUrls": [],
        "tags": [],
    }


def make_record(i: int) -> dict[str, Any]:
    return {"id": i, "name": f"Record {i}", "value": i * 10}


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    #: time.monotonic() when the request arrived
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeApi:
    """State and controls of the fake API; reset before each test."""

    url: str = ""
    pets: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    credentials: dict[str, str] = field(default_factory=dict)
    token_lifetime: int = 3600
    tokens_issued: int = 0
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    jwt_key: Any = "jwt-shared-secret-0123456789abcdef"
    jwt_algorithms: list[str] = field(default_factory=lambda: ["HS256"])
    jwt_claims: list[dict[str, Any]] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    limits: dict[str, int] | None = None
    detail_delay: float = 0.05
    window_limit: int = 10
    window: float = 2.0
    window_state: dict[str, float] = field(default_factory=dict)
    limited_answers: Counter[int] = field(default_factory=Counter)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    #: When each file last changed (unix seconds, whole), for Last-Modified.
    file_times: dict[str, int] = field(default_factory=dict)
    file_answers: list[tuple[str, int, int]] = field(default_factory=list)
    #: Names answered 410 Gone.
    gone_files: set[str] = field(default_factory=set)
    #: Seconds each ``/files/...`` answer waits first (to see downloads overlap).
    file_delay: float = 0.0
    #: Mixed into every file's ETag: a new salt is a server that re-tags the same bytes.
    etag_salt: str = ""
    documents: list[dict[str, Any]] = field(default_factory=list)
    detail_failures: set[int] = field(default_factory=set)
    detail_in_flight: int = 0
    detail_max_in_flight: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    #: (monotonic time, status) of every /paged/page answer
    answers: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reset()

    def __repr__(self) -> str:
        return f"<FakeApi {self.url}: {len(self.pets)} pets, {len(self.records)} records, {len(self.requests)} requests>"

    def reset(self) -> None:
        """Back to the initial data, credentials and counters (the fixture does this)."""
        self.pets = [_pet(p) for p in PETS]
        self.records = [make_record(i) for i in range(1, 46)]
        self.requests = []
        self.credentials = {
            "username": "alice",
            "password": "s3cret-basic-pw",
            "token": "bearer-token-7f3a9c",
            "api_key": "apikey-5e1b2d",
            "client_id": "openconnector-client",
            "client_secret": "client-secret-91ab",
        }
        self.token_lifetime = 3600
        self.tokens_issued = 0
        self.token_requests = []
        self.tokens = {}
        self.jwt_key = "jwt-shared-secret-0123456789abcdef"
        self.jwt_algorithms = ["HS256"]
        self.jwt_claims = []
        self.counters = Counter()
        self.limits = None
        self.detail_delay = 0.05
        self.window_limit = 10
        self.window = 2.0
        self.window_state = {}
        self.limited_answers = Counter()
        self.files = {}
        self.file_times = {}
        self.file_answers = []
        self.file_delay = 0.0
        self.etag_salt = ""
        self.gone_files = set()
        self.documents = []
        self.detail_failures = set()
        self.detail_in_flight = 0
        self.detail_max_in_flight = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.answers = []

    # -- helpers for tests -------------------------------------------------------------------

    def source(self, **overrides: Any) -> dict[str, Any]:
        """A source dict for this server (``location`` = ``url``), shaped as the storage layer gives it."""
        source: dict[str, Any] = {
            "id": 1,
            "uuid": "5b5f1b6e-2c3a-4b5e-9f0a-0c1d2e3f4a5b",
            "name": "Fake API",
            "type": "api",
            "location": self.url,
            "isEnabled": True,
            "auth": "none",
            "authenticationConfig": {},
            "configuration": {},
        }
        source.update(overrides)
        return source

    def pet(self, pet_id: int) -> dict[str, Any] | None:
        return next((p for p in self.pets if p["id"] == pet_id), None)

    def rename_pet(self, pet_id: int, name: str) -> None:
        pet = self.pet(pet_id)
        if pet is None:
            raise KeyError(pet_id)
        pet["name"] = name

    def remove_pet(self, pet_id: int) -> None:
        self.pets = [p for p in self.pets if p["id"] != pet_id]

    def add_pet(
        self, name: str, category: str = "Dogs", status: str = "available", **extra: Any
    ) -> dict[str, Any]:
        pet_id = max((p["id"] for p in self.pets), default=0) + 1
        pet = _pet({"id": pet_id, "name": name, "category": category, "status": status}) | extra
        self.pets.append(pet)
        return pet

    def set_records(self, count: int) -> None:
        self.records = [make_record(i) for i in range(1, count + 1)]

    def rate_limit(self, limit: int, remaining: int | None = None, reset_in: int = 60) -> None:
        """Make ``/ratelimit`` send X-RateLimit-* headers and 429 once ``remaining`` is used up."""
        self.limits = {
            "limit": limit,
            "remaining": limit if remaining is None else remaining,
            "reset": int(time.time()) + reset_in,
            "window": reset_in,
        }

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def put_file(self, name: str, content: bytes, media_type: str, *, modified: int | None = None) -> str:
        """Serve ``content`` at ``/files/{name}`` (new or changed) and return its URL."""
        self.files[name] = (content, media_type)
        self.file_times[name] = int(time.time()) if modified is None else modified
        return f"{self.url}/files/{name}"

    def file_bodies(self) -> int:
        """How many answers of ``/files/...`` carried bytes (200s)."""
        return sum(1 for _, status, sent in self.file_answers if status == 200 and sent)

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    def hits_under(self, prefix: str) -> int:
        return sum(1 for r in self.requests if r.path.startswith(prefix))


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _page_slice(records: list[Any], page: int, size: int) -> list[Any]:
    return records[(page - 1) * size : page * size]


def build_app(api: FakeApi) -> Any:
    """The ASGI app; every handler reads ``api`` at request time."""

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    # -- Pet Store ----------------------------------------------------------------------------

    async def find_by_status(request: Request) -> Response:
        statuses = request.query_params.get("status", "available").split(",")
        return JSONResponse([copy.deepcopy(p) for p in api.pets if p["status"] in statuses])

    async def pet(request: Request) -> Response:
        pet_id = _int(request.path_params.get("pet_id"), -1)
        if request.method == "POST" or (request.method == "PUT" and "pet_id" not in request.path_params):
            body = await request.json()
            found = api.pet(_int(str(body.get("id", "")), -1))
            if request.method == "PUT" and found is None:
                return JSONResponse({"code": 404, "message": "Pet not found"}, status_code=404)
            if found is None:
                created = api.add_pet(body.get("name", ""), body.get("category", {}).get("name", "Dogs"))
                created.update({k: v for k, v in body.items() if k not in ("id", "category")})
                return JSONResponse(created)
            found.update(body)
            return JSONResponse(found)
        found = api.pet(pet_id)
        if found is None:
            return JSONResponse({"code": 1, "type": "error", "message": "Pet not found"}, status_code=404)
        if request.method == "DELETE":
            api.remove_pet(pet_id)
            return Response(status_code=200)
        if request.method == "PUT":
            found.update(await request.json())
        return JSONResponse(found)

    # -- paginated ----------------------------------------------------------------------------

    async def paged_next(request: Request) -> Response:
        q = request.query_params
        style = q.get("style", "next")
        if q.get("delay"):
            await asyncio.sleep(float(q["delay"]))
        size = _int(q.get("size"), 10)
        page = _int(q.get("page"), 1)
        items = _page_slice(api.records, page, size)
        more = page * size < len(api.records)
        path = "/paged/next"
        link_query = urlencode(
            {
                "style": style,
                "page": page + 1,
                "size": size,
                **({"delay": q["delay"]} if q.get("delay") else {}),
            }
        )
        if q.get("relative") == "1":
            link = f"{path}?{link_query}"
        else:
            link = f"{base(request)}{path}?{link_query}"
        nxt = link if more else None
        bodies: dict[str, Any] = {
            "next": {"count": len(api.records), "next": nxt, "previous": None, "results": items},
            "links": {"data": items, "links": {"self": str(request.url), "next": nxt}},
            "hal": {"_embedded": {"records": items}, "_links": {"next": {"href": nxt}} if more else {}},
            "odata": {"value": items, **({"@odata.nextLink": nxt} if more else {})},
            "hydra": {"hydra:member": items, "hydra:view": {"hydra:next": nxt} if more else {}},
            "laravel": {"data": items, "next_page_url": nxt, "current_page": page},
        }
        if style not in bodies:
            return JSONResponse({"error": f"unknown style {style}"}, status_code=400)
        return JSONResponse(bodies[style])

    async def paged_link(request: Request) -> Response:
        q = request.query_params
        size = _int(q.get("per_page"), 10)
        page = _int(q.get("page"), 1)
        last = max(1, -(-len(api.records) // size))
        links = [f'<{base(request)}/paged/link?page={last}&per_page={size}>; rel="last"']
        if page < last:
            links.insert(0, f'<{base(request)}/paged/link?page={page + 1}&per_page={size}>; rel="next"')
        return JSONResponse(_page_slice(api.records, page, size), headers={"Link": ", ".join(links)})

    async def paged_page(request: Request) -> Response:
        response = await _paged_page(request)
        api.answers.append((time.monotonic(), response.status_code))
        return response

    async def _paged_page(request: Request) -> Response:
        q = request.query_params
        size = _int(q.get("pageSize"), 10)
        page = _int(q.get("page"), 1)
        headers: dict[str, str] = {}
        if q.get("limited") == "1" and api.limits is not None:
            limits = api.limits
            if time.time() >= limits["reset"]:
                limits["remaining"] = limits["limit"]
                limits["reset"] = int(time.time()) + limits["window"]
            limits["remaining"] -= 1
            headers = {
                "X-RateLimit-Limit": str(limits["limit"]),
                "X-RateLimit-Remaining": str(max(0, limits["remaining"])),
                "X-RateLimit-Reset": str(limits["reset"]),
            }
            if limits["remaining"] < 0:
                api.counters["rate limit exceeded"] += 1
                return JSONResponse({"error": "rate limited"}, status_code=429, headers=headers)
        if q.get("delay"):
            await asyncio.sleep(float(q["delay"]))
        if q.get("failOn") and _int(q.get("failOn"), 0) == page:
            return JSONResponse({"error": "Internal Server Error"}, status_code=500)
        if q.get("tooManyOn") and _int(q.get("tooManyOn"), 0) == page:
            api.counters[f"429 page {page}"] += 1
            if api.counters[f"429 page {page}"] == 1:
                return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "1"})
        shown = page - 1 if q.get("repeatOn") and _int(q.get("repeatOn"), 0) == page else page
        body: dict[str, Any] = {"items": _page_slice(api.records, shown, size), "page": page}
        if q.get("noTotal") != "1":
            body["totalPages"] = max(1, -(-len(api.records) // size))
        return JSONResponse(body, headers=headers)

    async def paged_offset(request: Request) -> Response:
        q = request.query_params
        offset = _int(q.get("offset"), 0)
        limit = _int(q.get("limit"), 10)
        return JSONResponse({"data": api.records[offset : offset + limit], "total": len(api.records)})

    async def paged_cursor(request: Request) -> Response:
        q = request.query_params
        size = _int(q.get("limit"), 10)
        cursor = q.get("cursor")
        offset = int(base64.urlsafe_b64decode(cursor).decode()) if cursor else 0
        end = offset + size
        nxt = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(api.records) else None
        return JSONResponse({"data": api.records[offset:end], "meta": {"next_cursor": nxt}})

    # -- summaries and details ------------------------------------------------------------------

    async def summaries(request: Request) -> Response:
        q = request.query_params
        size = _int(q.get("size"), 100)
        page = _int(q.get("page"), 1)
        items = [{"id": r["id"], "name": r["name"]} for r in _page_slice(api.records, page, size)]
        more = page * size < len(api.records)
        nxt = f"{base(request)}/summaries?{urlencode({'page': page + 1, 'size': size})}" if more else None
        return JSONResponse({"results": items, "next": nxt})

    async def detail(request: Request) -> Response:
        record_id = _int(request.path_params.get("record_id"), -1)
        api.detail_in_flight += 1
        api.detail_max_in_flight = max(api.detail_max_in_flight, api.detail_in_flight)
        try:
            await asyncio.sleep(api.detail_delay)
        finally:
            api.detail_in_flight -= 1
        if record_id in api.detail_failures:
            return JSONResponse({"error": "detail store unavailable"}, status_code=500)
        found = next((r for r in api.records if r["id"] == record_id), None)
        if found is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(
            {
                "id": record_id,
                "description": f"About {found['name']}",
                "value": found["value"],
                "self": f"{base(request)}/details/{record_id}",
            }
        )

    async def limited_detail(request: Request) -> Response:
        now = time.time()
        state = api.window_state
        if not state or now >= state["reset"]:
            state.update(remaining=api.window_limit, reset=now + api.window)
        state["remaining"] -= 1
        headers = {
            "X-RateLimit-Limit": str(api.window_limit),
            "X-RateLimit-Remaining": str(max(0, int(state["remaining"]))),
            "X-RateLimit-Reset": str(int(state["reset"]) + 1),
        }
        if state["remaining"] < 0:
            api.limited_answers[429] += 1
            return JSONResponse({"error": "rate limited"}, status_code=429, headers=headers)
        api.limited_answers[200] += 1
        answer = await detail(request)
        answer.headers.update(headers)
        return answer

    # -- files ----------------------------------------------------------------------------------

    async def files(request: Request) -> Response:
        name = request.path_params["name"]
        if name in api.gone_files:
            return JSONResponse({"error": "removed"}, status_code=410)
        if name not in api.files:
            return JSONResponse({"error": "no such file"}, status_code=404)
        content, media_type = api.files[name]
        if api.file_delay:
            await asyncio.sleep(api.file_delay)
        etag = '"' + hashlib.sha256(content + api.etag_salt.encode()).hexdigest()[:20] + '"'
        modified = api.file_times.get(name, 0)
        headers = {"ETag": etag, "Last-Modified": email.utils.formatdate(modified, usegmt=True)}
        match = request.headers.get("if-none-match")
        since = request.headers.get("if-modified-since")
        fresh = False
        if match is not None:
            fresh = etag in [tag.strip().removeprefix("W/") for tag in match.split(",")]
        elif since:
            parsed = email.utils.parsedate_to_datetime(since)
            fresh = parsed is not None and modified <= parsed.timestamp()
        if fresh:
            api.file_answers.append((name, 304, 0))
            return Response(status_code=304, headers=headers)
        api.file_answers.append((name, 200, len(content)))

        async def chunks() -> Any:
            for start in range(0, len(content), 8192):
                yield content[start : start + 8192]

        return StreamingResponse(chunks(), media_type=media_type, headers=headers)

    async def documents(request: Request) -> Response:
        return JSONResponse({"results": api.documents})

    async def generated_csv(request: Request) -> Response:
        rows = _int(request.query_params.get("rows"), 1000)

        async def chunks() -> Any:
            yield b"id;title;amount\n"
            for start in range(1, rows + 1, 1000):
                end = min(rows, start + 999)
                yield "".join(f"{i};Row {i};{i * 7 % 1000}.50\n" for i in range(start, end + 1)).encode()

        return StreamingResponse(chunks(), media_type="text/csv")

    # -- SOAP -----------------------------------------------------------------------------------

    async def soap(request: Request) -> Response:
        if request.method == "GET":
            return Response(WSDL.replace("{address}", f"{base(request)}/soap"), media_type="text/xml")
        body = (await request.body()).decode()
        found = re.search(r"<(?:\w+:)?status>([^<]*)</", body)
        status = found.group(1) if found else ""
        if status == "fault":
            fault = (
                '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                "<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Zaaksysteem niet bereikbaar"
                "</faultstring></soap:Fault></soap:Body></soap:Envelope>"
            )
            return Response(fault, status_code=500, media_type="text/xml")
        zaken = "".join(
            f"<z:zaak><z:id>{r['id']}</z:id><z:omschrijving>{r['name']}</z:omschrijving>"
            f"<z:status>{'open' if r['id'] % 2 else 'closed'}</z:status></z:zaak>"
            for r in api.records
            if ("open" if r["id"] % 2 else "closed") == status
        )
        answer = (
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:z="http://example.org/zaken"><soap:Body>'
            f"<z:ListZakenResponse>{zaken}</z:ListZakenResponse></soap:Body></soap:Envelope>"
        )
        return Response(answer, media_type="text/xml")

    # -- XML ------------------------------------------------------------------------------------

    async def xml_pets(request: Request) -> Response:
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<pets count="{len(api.pets)}">']
        for p in api.pets:
            tags = "".join(f"<tag>{t}</tag>" for t in ("friendly", p["category"]["name"].lower()))
            parts.append(
                f'<pet id="{p["id"]}" status="{p["status"]}"><name>{p["name"]}</name>'
                f'<category id="{p["category"]["id"]}">{p["category"]["name"]}</category>'
                f"<tags>{tags}</tags></pet>"
            )
        parts.append("</pets>")
        return Response("".join(parts), media_type="application/xml")

    async def xml_bomb(request: Request) -> Response:
        entities = ['<!ENTITY lol "lol">'] + [
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
        ]
        body = f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{"".join(entities)}]>\n<lolz><lol>&lol9;</lol></lolz>'
        return Response(body, media_type="application/xml")

    async def xml_xxe(request: Request) -> Response:
        body = (
            '<?xml version="1.0"?>\n<!DOCTYPE pets [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
            '<pets><pet id="1"><name>&secret;</name></pet></pets>'
        )
        return Response(body, media_type="text/xml")

    # -- faults -------------------------------------------------------------------------------

    async def repeat(request: Request) -> Response:
        return JSONResponse({"results": api.records[:10]})

    async def loop(request: Request) -> Response:
        page = _int(request.query_params.get("page"), 1)
        other = 2 if page == 1 else 1
        return JSONResponse(
            {
                "results": _page_slice(api.records, page, 5),
                "next": f"{base(request)}/faults/loop?page={other}",
            }
        )

    async def slow(request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("seconds", "1")))
        return JSONResponse({"results": [make_record(1)]})

    async def invalid_json(request: Request) -> Response:
        return Response(b'{"results": [{"id": 1}, {"id": 2', media_type="application/json")

    async def retry_after(request: Request) -> Response:
        q = request.query_params
        api.counters["retry-after"] += 1
        if api.counters["retry-after"] <= _int(q.get("times"), 2):
            seconds = _int(q.get("seconds"), 1)
            if q.get("date") == "1":
                value = email.utils.formatdate(time.time() + seconds, usegmt=True)
            else:
                value = str(seconds)
            return JSONResponse(
                {"error": "Too Many Requests"}, status_code=429, headers={"Retry-After": value}
            )
        return JSONResponse({"results": api.records[:3]})

    async def flaky(request: Request) -> Response:
        q = request.query_params
        api.counters["flaky"] += 1
        if api.counters["flaky"] <= _int(q.get("times"), 2):
            return JSONResponse({"error": "temporarily unavailable"}, status_code=_int(q.get("status"), 503))
        return JSONResponse({"results": api.records[:3]})

    async def ratelimited(request: Request) -> Response:
        limits = api.limits
        if limits is None:
            return JSONResponse({"results": api.records[:3]})
        limits["remaining"] -= 1
        headers = {
            "X-RateLimit-Limit": str(limits["limit"]),
            "X-RateLimit-Remaining": str(max(0, limits["remaining"])),
            "X-RateLimit-Reset": str(limits["reset"]),
        }
        if limits["remaining"] < 0:
            return JSONResponse({"error": "rate limited"}, status_code=429, headers=headers)
        return JSONResponse({"results": api.records[:3]}, headers=headers)

    async def echo(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        status = _int(request.query_params.get("status"), 200)
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "headers": dict(request.headers),
                "body": body,
            },
            status_code=status,
        )

    # -- auth ---------------------------------------------------------------------------------

    def denied(what: str, got: Any) -> Response:
        return JSONResponse({"error": f"invalid {what}", "received": got}, status_code=401)

    def ok(method: str, **extra: Any) -> Response:
        return JSONResponse({"authenticated": method, "results": api.records[:2], **extra})

    async def auth_basic(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        creds = api.credentials
        expected = base64.b64encode(f"{creds['username']}:{creds['password']}".encode()).decode()
        return ok("basic") if header == f"Basic {expected}" else denied("basic credentials", header)

    async def auth_bearer(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        expected = f"Bearer {api.credentials['token']}"
        return ok("bearer") if header == expected else denied("bearer token", header)

    async def auth_apikey(request: Request) -> Response:
        got = request.headers.get("x-api-key", "")
        return ok("apikey") if got == api.credentials["api_key"] else denied("api key", got)

    async def auth_apikey_query(request: Request) -> Response:
        got = request.query_params.get("api_key", "")
        return ok("apikey-query") if got == api.credentials["api_key"] else denied("api key", got)

    async def auth_oauth(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ")
        expires = api.tokens.get(token)
        if not header.startswith("Bearer ") or expires is None or expires < time.time():
            return denied("access token", header)
        return ok("oauth2")

    async def auth_jwt(request: Request) -> Response:
        header = request.headers.get("authorization") or request.headers.get("x-jwt", "")
        try:
            claims = jwt.decode(
                header.removeprefix("Bearer "),
                api.jwt_key,
                algorithms=api.jwt_algorithms,
                options={"verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            return JSONResponse({"error": f"invalid jwt: {exc}"}, status_code=401)
        api.jwt_claims.append(claims)
        return ok("jwt", claims=claims, header=jwt.get_unverified_header(header.removeprefix("Bearer ")))

    async def oauth_token(request: Request) -> Response:
        form = dict(await request.form())
        creds = api.credentials
        client_id, client_secret, method = form.get("client_id"), form.get("client_secret"), "body"
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
            method = "basic"
        api.token_requests.append(
            {"auth": method, "scope": form.get("scope"), "grant_type": form.get("grant_type")}
        )
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if client_id != creds["client_id"] or client_secret != creds["client_secret"]:
            return JSONResponse(
                {"error": "invalid_client", "error_description": f"unknown client {client_id}"},
                status_code=401,
            )
        api.tokens_issued += 1
        token = f"access-{api.tokens_issued}-{secrets.token_hex(8)}"
        api.tokens[token] = time.time() + api.token_lifetime
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": api.token_lifetime,
                "scope": form.get("scope"),
            }
        )

    routes = [
        Route("/api/v3/pet/findByStatus", find_by_status),
        Route("/api/v3/pet", pet, methods=["POST", "PUT"]),
        Route("/api/v3/pet/{pet_id}", pet, methods=["GET", "PUT", "DELETE"]),
        Route("/paged/next", paged_next),
        Route("/paged/link", paged_link),
        Route("/paged/page", paged_page),
        Route("/paged/offset", paged_offset),
        Route("/paged/cursor", paged_cursor),
        Route("/summaries", summaries),
        Route("/details/{record_id}", detail),
        Route("/limited/details/{record_id}", limited_detail),
        Route("/soap", soap, methods=["GET", "POST"]),
        Route("/files/{name}", files),
        Route("/documents", documents),
        Route("/generated.csv", generated_csv),
        Route("/xml/pets", xml_pets),
        Route("/xml/bomb", xml_bomb),
        Route("/xml/xxe", xml_xxe),
        Route("/faults/repeat", repeat),
        Route("/faults/loop", loop),
        Route("/faults/slow", slow),
        Route("/faults/invalid-json", invalid_json),
        Route("/faults/retry-after", retry_after, methods=["GET", "POST"]),
        Route("/faults/flaky", flaky, methods=["GET", "POST"]),
        Route("/ratelimit", ratelimited),
        Route("/echo", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/auth/basic", auth_basic),
        Route("/auth/bearer", auth_bearer),
        Route("/auth/apikey", auth_apikey),
        Route("/auth/apikey-query", auth_apikey_query),
        Route("/auth/oauth", auth_oauth),
        Route("/auth/jwt", auth_jwt),
        Route("/oauth/token", oauth_token, methods=["POST"]),
    ]
    app = Starlette(routes=routes)

    async def recording_app(scope: Any, receive: Any, send: Any) -> None:
        """Pure ASGI wrapper: log each HTTP request, then hand it to the routes."""
        if scope["type"] == "http":
            request = Request(scope)
            api.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.url.path,
                    query=dict(request.query_params),
                    headers=dict(request.headers),
                )
            )
            api.in_flight += 1
            api.max_in_flight = max(api.max_in_flight, api.in_flight)
            try:
                await app(scope, receive, send)
            finally:
                api.in_flight -= 1
            return
        await app(scope, receive, send)

    return recording_app


class FakeApiServer:
    """Runs the app with uvicorn in a daemon thread on a free port of 127.0.0.1."""

    _ids = itertools.count(1)

    def __init__(self) -> None:
        self.api = FakeApi()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeApi:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.api),
            log_level="warning",
            lifespan="off",
            loop="asyncio",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"fake-api-{next(self._ids)}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake API did not start")
            time.sleep(0.01)
        self.api.url = f"http://127.0.0.1:{port}"
        return self.api

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
