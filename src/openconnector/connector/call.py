"""``CallService``: every outgoing HTTP request of openconnector.

Usable on its own, without a database::

    from openconnector.connector.call import CallService

    calls = CallService(log_sink=print)
    source = {"name": "Pet Store", "location": "https://petstore3.swagger.io", "auth": "none"}
    result = calls.call(source, "/api/v3/pet/findByStatus?status=available")
    pets = result.json()

    for page in calls.pages(source, "/api/v3/pet/findByStatus", query={"status": "available"}):
        print(page.number, len(page.records))

What it adds to httpx, and why:

* **auth** from the source (``connector/auth.py``), OAuth2 tokens cached;
* **retries** with exponential backoff and full jitter on connection errors,
  timeouts, 5xx and 429, honouring ``Retry-After``; for methods that are not
  idempotent (POST, PATCH) only when the request cannot have been processed
  (connection refused, 429), so a retried POST never creates twice;
* **rate limits**: ``X-RateLimit-*`` headers are kept on the source and the
  next call waits (or is refused) until the reset (``connector/ratelimit.py``);
* **call logs** for every attempt, including refused calls, passed to
  ``log_sink``; URLs, headers and bodies are redacted first
  (``connector/redaction.py``): secrets never reach a log, an exception or a repr;
* **pagination** (``pages``), streaming one page at a time
  (``connector/pagination.py``), with records found by ``connector/records.py``.

Like the original (Guzzle with ``http_errors: false``), ``call`` returns 4xx
and 5xx responses; ``CallResult.raise_for_status`` turns them into
``SourceRejected``/``SourceUnavailable`` and ``pages`` does so itself.
"""

from __future__ import annotations

import base64
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from openconnector import metrics
from openconnector.connector import ratelimit
from openconnector.connector.auth import Authenticator, Credentials, TokenCache, has_token_function
from openconnector.connector.calllog import (
    MAX_LOGGED_BODY,
    build_call_log,
    grouped_headers,
    header_text,
    status_phrase,
)
from openconnector.connector.pages import Page, Pages
from openconnector.connector.pagination import PageRequest, join_location, make_paginator, split_url
from openconnector.connector.redaction import redact_headers, redact_text, redact_url, source_secrets
from openconnector.errors import BadRequest, Conflict, OpenConnectorError, SourceRejected, SourceUnavailable

__all__ = ["DEFAULT_TIMEOUT", "MAX_LOGGED_BODY", "CallResult", "CallService", "Page", "Pages"]

logger = logging.getLogger("openconnector.connector")

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_BACKOFF_MAX = 30.0
DEFAULT_MAX_RATE_LIMIT_WAIT = 60.0

RATE_LIMIT_MESSAGE = "The rate limit for this source has been exceeded. Try again later."
NOT_ENABLED_MESSAGE = "This source is not enabled"
NO_LOCATION_MESSAGE = "This source has no location"

_HEADERS = {"User-Agent": "openconnector-python"}
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_CONTENT_TYPES = {"json": "application/json", "xml": "application/xml", "yaml": "application/x-yaml"}


def _transport_reason(exc: Exception) -> str:
    """What went wrong on the way, said so a person can act: TLS problems named as such."""
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    lowered = str(exc).lower()
    if "ssl" in lowered or "certificate" in lowered or "tls" in lowered or "handshake" in lowered:
        return f"TLS error (the certificate or the TLS handshake failed): {text}"
    return text


def _now_iso(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).isoformat(timespec="seconds")


@dataclass(repr=False)
class CallResult:
    """One HTTP response (any status), with its call log.

    ``url`` is redacted; ``body`` is the decoded text. ``json()`` decodes
    with orjson and raises ``SourceRejected`` on a body that is not JSON.
    """

    status_code: int
    headers: httpx.Headers
    body: str
    response_time_ms: float
    url: str
    log: dict[str, Any]
    method: str = "GET"
    content: bytes = b""
    #: When the source said to come back (unix time), from Retry-After or a rate-limit reset.
    retry_at: float | None = None
    _real_url: str = field(default="", repr=False)
    _secrets: list[str] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        return f"<CallResult {self.status_code} {self.method} {self.url}>"

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def status_message(self) -> str:
        return status_phrase(self.status_code)

    def json(self) -> Any:
        """The body decoded as JSON; ``SourceRejected`` if it is not JSON."""
        try:
            return orjson.loads(self.content if self.content else self.body)
        except orjson.JSONDecodeError as exc:
            where = "empty body" if not (self.content or self.body) else str(exc)
            raise SourceRejected(f"invalid JSON at {self.url}: {where}", url=self.url) from None

    def data(self, kind: str | None = None) -> Any:
        """The body decoded by its content type (JSON, JSON Lines or XML, see ``connector/bodies.py``);
        ``kind`` (a source's ``type``: ``xml``, ``jsonl``, ``json``) overrides the content type."""
        from openconnector.connector.bodies import decode_body

        return decode_body(self.content or self.body, self.headers.get("content-type"), kind, self.url)

    def raise_for_status(self, *, page: int | None = None) -> None:
        """Raise for non-2xx: ``SourceUnavailable`` for 5xx and 429 (retry later), else ``SourceRejected``.

        The message names method, redacted URL and status, never the body:
        a source's error text may echo what we sent.
        """
        if self.ok:
            return
        where = f" (page {page})" if page is not None else ""
        message = (
            f"{self.method} {self.url} returned {self.status_code} {self.status_message}{where}".rstrip()
        )
        details: dict[str, Any] = {"statusCode": self.status_code, "url": self.url}
        if page is not None:
            details["page"] = page
        if self.status_code >= 500 or self.status_code == 429:
            if self.retry_at is not None:
                details["retry_at"] = int(self.retry_at)
            raise SourceUnavailable(message, **details)
        raise SourceRejected(message, **details)


class _Gate:
    """What the threads calling one source at once share (pages fetched concurrently).

    ``in_flight`` requests count against the source's ``rateLimitRemaining`` before
    their answers bring the new count, so N threads never send more than the source
    allows; ``until`` is when a 429's ``Retry-After`` lets anyone call again, so all
    back off together instead of each running into the limit on its own.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.until = 0.0


@dataclass
class _Prepared:
    method: str
    url: str
    query: dict[str, Any]
    headers: dict[str, Any]
    json: Any
    content: bytes | str | None
    data: Any
    timeout: float
    verify: Any
    log_body: bool
    retries: int
    backoff: float
    backoff_max: float
    max_rate_limit_wait: float


def _expand_dotted(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"headers.Accept": "x"}`` → ``{"headers": {"Accept": "x"}}`` (the original allows both)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(key, str) and "." in key:
            head, _, rest = key.partition(".")
            target = out.setdefault(head, {})
            if isinstance(target, dict):
                nested = _expand_dotted({rest: value})
                _deep_merge(target, nested)
                continue
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            _deep_merge(out[key], dict(value))
        else:
            out[key] = value
    return out


def _deep_merge(into: dict[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value
    return into


def _merge_headers(*sets: Mapping[str, Any] | None) -> dict[str, Any]:
    """Later sets win, names compared case-insensitively (``accept`` replaces ``Accept``)."""
    out: dict[str, Any] = {}
    names: dict[str, str] = {}
    for headers in sets:
        for name, value in (headers or {}).items():
            lowered = str(name).lower()
            if lowered in names:
                out.pop(names[lowered])
            names[lowered] = name
            out[name] = value
    return out


def _as_float(value: Any, default: float, name: str) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BadRequest(f'configuration.{name} must be a number, not "{value}"') from None


class CallService:
    """Sends requests to sources: auth, retries, rate limits, call logs, pagination.

    Keep one instance per process (it holds the HTTP connection pool and the
    OAuth2 token cache). ``sleep`` and ``clock`` are injectable so tests of
    backoff, ``Retry-After`` and token expiry run instantly.
    ``source_state_sink(source, state)`` is called when a response changed
    the source's rate-limit fields (``rateLimitRemaining``...), which are also
    updated in the source dict itself, so the app can persist them.
    """

    def __init__(
        self,
        *,
        log_sink: Callable[[dict[str, Any]], None] | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        source_state_sink: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
        token_cache: TokenCache | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.log_sink = log_sink
        self.sleep = sleep
        self.clock = clock
        self.source_state_sink = source_state_sink
        self.jitter = jitter
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(follow_redirects=True, headers=_HEADERS)
        self._verify_clients: dict[str, httpx.Client] = {}
        self._local = threading.local()  # the source whose token is being fetched, per thread
        self._gates: dict[str, _Gate] = {}
        self._gates_lock = threading.Lock()
        self.auth = Authenticator(
            clock=clock, token_cache=token_cache, on_token_response=self._log_token_call
        )

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP clients this service created."""
        if self._own_client:
            self._client.close()
        for client in self._verify_clients.values():
            client.close()
        self._verify_clients.clear()

    def __enter__(self) -> CallService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public API -----------------------------------------------------------------------

    def call(
        self,
        source: dict[str, Any],
        endpoint: str = "",
        method: str = "GET",
        *,
        headers: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        json: Any = None,
        body: str | bytes | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> CallResult:
        """One request to ``location + endpoint`` (an absolute ``http(s)://`` endpoint is used as is).

        ``config`` (a call's Guzzle-style options: ``headers``, ``query``,
        ``timeout``, ``logBody``, ``retries``...) is merged over the source's
        ``configuration``. Returns any HTTP status; raises ``Conflict`` for a
        disabled source or one without location, ``SourceUnavailable`` when
        the source cannot be reached after retries or its rate limit is
        exhausted, ``BadRequest`` for incomplete auth settings.
        """
        self._check_usable(source, method, endpoint)
        url = join_location(source.get("location") or "", endpoint)
        return self._request(
            source, url, method, headers=headers, query=query, json=json, body=body, config=config
        )

    def pages(
        self,
        source: dict[str, Any],
        endpoint: str = "",
        *,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        pagination: Mapping[str, Any] | None = None,
        results_position: str | None = None,
        max_pages: int = 50,
        method: str = "GET",
        json: Any = None,
        config: Mapping[str, Any] | None = None,
        concurrency: int = 1,
    ) -> Pages:
        """Stream the pages of a list endpoint, one request per ``next()``.

        See ``connector/pagination.py`` for ``pagination`` and
        ``connector/records.py`` for ``results_position``. Raises
        ``SourceUnavailable``/``SourceRejected`` (with ``page`` in the
        details) when a page fails after retries; pages already yielded stay
        valid; the error's details carry ``page``. Query parameters in
        ``endpoint`` and ``query`` are kept on every page. ``method``,
        ``json`` (e.g. the original's ``useDataAsRequestBody``) and ``config``
        apply to every page request as in ``call``. A disabled source raises
        ``Conflict`` here, before the first page. ``concurrency`` > 1 requests up to that
        many pages at once where the addresses are predictable (``connector/pages.py``),
        never more than the source's known ``rateLimitLimit``; pages still arrive in order.
        """
        self._check_usable(source, method, endpoint)
        url = join_location(source.get("location") or "", endpoint)
        request = split_url(url)
        request.query.update(query or {})

        def fetch(page: PageRequest) -> CallResult:
            return self._request(
                source, page.url, method, query=page.query, headers=headers, json=json, config=config
            )

        limit = ratelimit.number(source.get("rateLimitLimit"))
        if limit is not None and limit >= 1:
            concurrency = min(concurrency, int(limit))
        kind = str(source.get("type") or "").lower()
        return Pages(
            fetch,
            request,
            make_paginator(pagination),
            results_position,
            max_pages,
            concurrency,
            decode=lambda result: result.data(kind if kind in ("xml", "jsonl", "json") else None),
        )

    @contextmanager
    def stream(
        self, source: dict[str, Any], endpoint: str = "", *, config: Mapping[str, Any] | None = None
    ) -> Iterator[httpx.Response]:
        """A GET whose body is read as it arrives (files as sources: CSV, JSON Lines, .xlsx).

        Auth, the rate limit and a call log as in ``call`` (the log has no body: it was
        streamed), no retries. A non-2xx answer raises as ``CallResult.raise_for_status``,
        except 304 Not Modified: a conditional GET (``If-None-Match`` in ``config``'s
        headers, as synchronisations fetching files send) gets that answer back.
        """
        self._check_usable(source, "GET", endpoint)
        url = join_location(source.get("location") or "", endpoint)
        prepared = self._prepare(source, url, "GET", None, None, None, None, config)
        secrets = source_secrets(source)
        gate = self._gate(source)
        self._respect_rate_limit(source, prepared, secrets, None, gate)
        started = time.perf_counter()
        try:
            send_headers, send_query, secrets = self._signed(source, prepared, secrets)
            client = self._client_for(prepared.verify)
            request = client.build_request(
                "GET",
                prepared.url,
                params=send_query or None,
                headers={k: header_text(v) for k, v in send_headers.items()},
                timeout=prepared.timeout,
            )
            shown = redact_url(str(request.url), secrets)
            response = client.send(request, stream=True)
        except httpx.TransportError as exc:
            shown = redact_url(prepared.url, secrets)
            error = redact_text(f"{type(exc).__name__}: {exc}".rstrip(": "), secrets)
            self._emit(
                self._call_log(
                    source,
                    status=503,
                    message=status_phrase(503),
                    method="GET",
                    url=shown,
                    request_headers=prepared.headers,
                    elapsed_ms=(time.perf_counter() - started) * 1000,
                    body_text=error,
                    error=error,
                    secrets=secrets,
                ),
                None,
            )
            raise SourceUnavailable(f"GET {shown} failed: {error}", url=shown) from None
        finally:
            with gate.lock:
                gate.in_flight -= 1
        try:
            elapsed = (time.perf_counter() - started) * 1000
            if not 200 <= response.status_code < 300 and response.status_code != 304:
                response.read()
                self._result(source, prepared, response, elapsed, secrets, 0, None).raise_for_status()
            if ratelimit.update_from_headers(source, response.headers, self.clock()):
                self._state_changed(source)
            log = self._call_log(
                source,
                status=response.status_code,
                message=response.reason_phrase or status_phrase(response.status_code),
                method="GET",
                url=shown,
                request_headers=grouped_headers(request.headers),
                elapsed_ms=elapsed,
                secrets=secrets,
            )
            log["response"]["headers"] = redact_headers(grouped_headers(response.headers))
            log["response"]["body"] = None
            log["streamed"] = True
            self._emit(log, None)
            yield response
        finally:
            response.close()

    def test(
        self,
        source: dict[str, Any],
        endpoint: str = "",
        method: str = "GET",
        *,
        headers: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: str | None = None,
        type: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The call log of one test call, for ``POST /api/sources/test/{id}``.

        Never raises for the remote status: a refused call (disabled, rate
        limit), an unreachable source or a bad auth setting are all returned
        as a log with their status. ``response.body`` is always included
        (pretty-printed when JSON); ``ok`` is true for 2xx. One attempt, no
        retries and no waiting, unless ``config`` says otherwise.
        """
        trace: list[dict[str, Any]] = []
        call_headers = dict(headers or {})
        if type:
            call_headers.setdefault("Content-Type", _CONTENT_TYPES.get(type.lower(), type))
        options = {"retries": 0, "maxRateLimitWait": 0, **(config or {})}
        try:
            self._check_usable(source, method, endpoint, trace=trace)
            url = join_location(source.get("location") or "", endpoint)
            result = self._request(
                source, url, method, headers=call_headers, query=query, body=body, config=options, trace=trace
            )
        except OpenConnectorError as exc:
            if trace:
                log = dict(trace[-1])
            else:  # refused before any request, e.g. incomplete auth settings
                log = self._call_log(source, status=exc.status, message=exc.message)
            log["ok"] = False
            log["message"] = exc.message
            return log
        log = dict(result.log)
        response = dict(log.get("response") or {})
        response["body"] = self._pretty(result)
        log["response"] = response
        log["ok"] = result.ok
        return log

    # -- internals ------------------------------------------------------------------------

    def _check_usable(
        self,
        source: Mapping[str, Any],
        method: str,
        endpoint: str,
        *,
        trace: list[dict[str, Any]] | None = None,
    ) -> None:
        """Refuse calls to a disabled source or one without location, with a 409 call log."""
        if source.get("isEnabled", True) in (False, 0, "0", "false"):
            self._emit(self._call_log(source, status=409, message=NOT_ENABLED_MESSAGE), trace)
            raise Conflict(NOT_ENABLED_MESSAGE, source=source.get("uuid") or source.get("id"))
        if not endpoint.startswith(("http://", "https://")) and not source.get("location"):
            self._emit(self._call_log(source, status=409, message=NO_LOCATION_MESSAGE), trace)
            raise Conflict(
                f'{NO_LOCATION_MESSAGE}: set the location of source "{source.get("name", "")}" '
                "to the base URL of its API (e.g. https://petstore3.swagger.io)",
                source=source.get("uuid") or source.get("id"),
            )

    def _prepare(
        self,
        source: Mapping[str, Any],
        url: str,
        method: str,
        headers: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
        json: Any,
        body: str | bytes | None,
        config: Mapping[str, Any] | None,
    ) -> _Prepared:
        merged = _expand_dotted(source.get("configuration") or {})
        _deep_merge(merged, _expand_dotted(config or {}))
        # The original drops top-level "authentication" settings before the call.
        merged = {k: v for k, v in merged.items() if "authentication" not in str(k).lower()}
        request = split_url(url)
        request_query = {**(merged.get("query") or {}), **request.query, **(query or {})}
        all_headers = _merge_headers(merged.get("headers"), headers)
        auth_pair = merged.get("auth")
        if isinstance(auth_pair, list | tuple) and len(auth_pair) >= 2:
            # Guzzle's "auth": [user, pass] – basic auth as a literal option.
            pair = base64.b64encode(f"{auth_pair[0]}:{auth_pair[1]}".encode()).decode()
            all_headers = _merge_headers(all_headers, {"Authorization": f"Basic {pair}"})
        if json is None and body is None:
            json = merged.get("json")
            body = merged.get("body")
        return _Prepared(
            method=method.upper(),
            url=request.url,
            query=request_query,
            headers=all_headers,
            json=json,
            content=body,
            data=merged.get("form_params"),
            timeout=_as_float(merged.get("timeout"), DEFAULT_TIMEOUT, "timeout"),
            verify=merged.get("verify", True),
            log_body=merged.get("logBody") in (True, 1, "1", "true"),
            retries=int(_as_float(merged.get("retries"), DEFAULT_RETRIES, "retries")),
            backoff=_as_float(merged.get("backoff"), DEFAULT_BACKOFF, "backoff"),
            backoff_max=_as_float(merged.get("backoffMax"), DEFAULT_BACKOFF_MAX, "backoffMax"),
            max_rate_limit_wait=_as_float(
                merged.get("maxRateLimitWait"), DEFAULT_MAX_RATE_LIMIT_WAIT, "maxRateLimitWait"
            ),
        )

    def _client_for(self, verify: Any) -> httpx.Client:
        """httpx sets TLS verification per client: one extra client per distinct ``verify``."""
        if verify in (None, True, "true", "1", 1):
            return self._client
        key = str(verify)
        if key not in self._verify_clients:
            context: ssl.SSLContext | bool
            if verify in (False, "false", "0", 0):
                context = False
            elif "-----BEGIN" in key:  # PEM text, as the original allows (``\n`` literals too)
                context = ssl.create_default_context(cadata=key.replace("\\n", "\n"))
            else:
                context = ssl.create_default_context(cafile=key)
            self._verify_clients[key] = httpx.Client(follow_redirects=True, verify=context, headers=_HEADERS)
        return self._verify_clients[key]

    def _credentials(self, source: Mapping[str, Any], prepared: _Prepared) -> Credentials:
        return self.auth.credentials(source, timeout=prepared.timeout, verify=prepared.verify)

    def _request(
        self,
        source: dict[str, Any],
        url: str,
        method: str = "GET",
        *,
        headers: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        json: Any = None,
        body: str | bytes | None = None,
        config: Mapping[str, Any] | None = None,
        trace: list[dict[str, Any]] | None = None,
    ) -> CallResult:
        prepared = self._prepare(source, url, method, headers, query, json, body, config)
        secrets = source_secrets(source)
        attempt = 0
        refreshed_token = False
        gate = self._gate(source)
        while True:
            self._respect_rate_limit(source, prepared, secrets, trace, gate)
            try:
                outcome = self._attempt(source, prepared, secrets, trace, attempt, refreshed_token)
            finally:
                with gate.lock:
                    gate.in_flight -= 1
            if isinstance(outcome, CallResult):
                return outcome
            attempt, refreshed_token, delay = outcome
            if delay is not None:
                self.sleep(delay)

    def _attempt(
        self,
        source: dict[str, Any],
        prepared: _Prepared,
        secrets: list[str],
        trace: list[dict[str, Any]] | None,
        attempt: int,
        refreshed_token: bool,
    ) -> CallResult | tuple[int, bool, float | None]:
        """One attempt: its result, or ``(attempt, refreshed_token, delay)`` to try again."""
        send_headers, send_query, signed = self._signed(source, prepared, secrets)
        secrets[:] = signed  # kept for the next attempt too
        started = time.perf_counter()
        try:
            response = self._client_for(prepared.verify).request(
                prepared.method,
                prepared.url,
                params=send_query or None,
                headers={k: header_text(v) for k, v in send_headers.items()},
                json=prepared.json,
                content=prepared.content,
                data=prepared.data,
                timeout=prepared.timeout,
            )
        except httpx.TransportError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            metrics.observe_call(source, "error", elapsed / 1000)
            shown = redact_url(str(httpx.URL(prepared.url, params=send_query or None)), secrets)
            error = redact_text(_transport_reason(exc), secrets)
            self._emit(
                self._call_log(
                    source,
                    status=503,
                    message=status_phrase(503),
                    method=prepared.method,
                    url=shown,
                    request_headers=send_headers,
                    elapsed_ms=elapsed,
                    body_text=error,
                    error=error,
                    attempt=attempt + 1,
                    secrets=secrets,
                ),
                trace,
            )
            # A refused connection never reached the server: safe to retry for any method.
            unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            if attempt < prepared.retries and (unsent or prepared.method in _IDEMPOTENT):
                return attempt + 1, refreshed_token, self._backoff(attempt, prepared)
            tries = f" after {attempt + 1} attempts" if attempt else ""
            raise SourceUnavailable(
                f"{prepared.method} {shown} failed{tries}: {error}", url=shown, attempts=attempt + 1
            ) from None
        elapsed = (time.perf_counter() - started) * 1000
        metrics.observe_call(source, response.status_code, elapsed / 1000)
        result = self._result(source, prepared, response, elapsed, secrets, attempt, trace)
        if response.status_code == 401 and not refreshed_token and self.auth.invalidate(source):
            # An expired or revoked token: fetch a new one, once.
            return attempt, True, None
        if not self._retryable(response.status_code, prepared.method) or attempt >= prepared.retries:
            return result
        delay = self._backoff(attempt, prepared)
        if result.retry_at is not None:
            delay = max(0.0, result.retry_at - self.clock())
            if delay > prepared.max_rate_limit_wait:
                return result
            metrics.observe_rate_limit_wait(source, delay)
        if response.status_code == 429:  # everyone calling this source waits as long
            gate = self._gate(source)
            with gate.lock:
                gate.until = max(gate.until, self.clock() + delay)
        return attempt + 1, refreshed_token, delay

    def _signed(
        self, source: dict[str, Any], prepared: _Prepared, secrets: list[str]
    ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        """Headers and query with the source's credentials and rendered token functions,
        and the secrets to redact (the source's and the tokens derived from them)."""
        self._local.source = source
        try:
            credentials = self._credentials(source, prepared)
        finally:
            self._local.source = None
        send_headers = _merge_headers(prepared.headers, credentials.headers)
        send_query = {**prepared.query, **credentials.query}
        derived = list(credentials.secrets)
        for values in (send_headers, send_query):
            for name, value in values.items():
                if has_token_function(value):
                    self._local.source = source
                    try:
                        values[name], tokens = self.auth.render_token_functions(
                            value, source, timeout=prepared.timeout, verify=prepared.verify
                        )
                    finally:
                        self._local.source = None
                    derived.extend(tokens)
        secrets = list(dict.fromkeys([*secrets, *derived]))
        return send_headers, send_query, secrets

    @staticmethod
    def _retryable(status: int, method: str) -> bool:
        if status == 429:
            return True  # the server did not process the request
        return status >= 500 and method in _IDEMPOTENT

    def _backoff(self, attempt: int, prepared: _Prepared) -> float:
        """Full jitter: uniform in [0, min(cap, base·2^attempt)] (AWS architecture blog)."""
        return self.jitter() * min(prepared.backoff_max, prepared.backoff * 2**attempt)

    def _gate(self, source: Mapping[str, Any]) -> _Gate:
        key = metrics.source_label(source)
        with self._gates_lock:
            gate = self._gates.get(key)
            if gate is None:
                gate = self._gates[key] = _Gate()
            return gate

    def _respect_rate_limit(
        self,
        source: dict[str, Any],
        prepared: _Prepared,
        secrets: list[str],
        trace: list[dict[str, Any]] | None,
        gate: _Gate | None = None,
    ) -> None:
        """Wait until the source allows a call, then count this one in flight on ``gate``."""
        gate = gate or self._gate(source)
        before = ratelimit.rate_limit_state(source)
        while True:
            with gate.lock:
                now = self.clock()
                wait = max(ratelimit.check(source, now, in_flight=gate.in_flight), gate.until - now)
                limit = ratelimit.number(source.get("rateLimitLimit"))
                if (
                    wait <= 0
                    and limit is not None
                    and source.get("rateLimitRemaining") is None
                    and gate.in_flight >= limit
                ):
                    # A new window whose count no answer has brought yet: no more than the
                    # limit in flight until one does.
                    wait = -1.0
                elif wait <= 0:
                    gate.in_flight += 1
                    break
            if wait < 0:
                self.sleep(0.02)
            else:
                self._wait_for_rate_limit(source, prepared, secrets, trace, wait)
        if ratelimit.rate_limit_state(source) != before:
            self._state_changed(source)

    def _wait_for_rate_limit(
        self,
        source: dict[str, Any],
        prepared: _Prepared,
        secrets: list[str],
        trace: list[dict[str, Any]] | None,
        wait: float,
    ) -> None:
        if wait > prepared.max_rate_limit_wait:
            metrics.observe_rate_limit_wait(source, wait, refused=True)
            reset = self.clock() + wait
            self._emit(
                self._call_log(
                    source,
                    status=429,
                    message=RATE_LIMIT_MESSAGE,
                    method=prepared.method,
                    url=redact_url(prepared.url, secrets),
                ),
                trace,
            )
            raise SourceUnavailable(
                f'{RATE_LIMIT_MESSAGE} Source "{source.get("name", "")}" allows new calls at '
                f"{datetime.fromtimestamp(reset, UTC).isoformat(timespec='seconds')}",
                retry_at=int(reset),
            )
        logger.info("Rate limit of %s reached; waiting %.1f s", source.get("name"), wait)
        metrics.observe_rate_limit_wait(source, wait)
        self.sleep(wait)

    def _state_changed(self, source: dict[str, Any]) -> None:
        if self.source_state_sink is not None:
            self.source_state_sink(source, ratelimit.rate_limit_state(source))

    def _result(
        self,
        source: dict[str, Any],
        prepared: _Prepared,
        response: httpx.Response,
        elapsed_ms: float,
        secrets: list[str],
        attempt: int,
        trace: list[dict[str, Any]] | None,
    ) -> CallResult:
        now = self.clock()
        if ratelimit.update_from_headers(source, response.headers, now):
            self._state_changed(source)
        retry_at: float | None = None
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = ratelimit.parse_retry_after(response.headers.get("retry-after"), now)
            if retry_after is not None:
                retry_at = now + retry_after
            elif response.status_code == 429 and ratelimit.check(dict(source), now) > 0:
                retry_at = float(source["rateLimitReset"])
        real_url = str(response.request.url)
        shown = redact_url(real_url, secrets)
        log = self._call_log(
            source,
            status=response.status_code,
            message=response.reason_phrase or status_phrase(response.status_code),
            method=prepared.method,
            url=shown,
            request_headers=grouped_headers(response.request.headers),
            response=response,
            elapsed_ms=elapsed_ms,
            log_body=prepared.log_body,
            attempt=attempt + 1,
            secrets=secrets,
            request_body=prepared.json if prepared.json is not None else prepared.content,
        )
        self._emit(log, trace)
        return CallResult(
            status_code=response.status_code,
            headers=response.headers,
            body=response.text,
            response_time_ms=elapsed_ms,
            url=shown,
            log=log,
            method=prepared.method,
            content=response.content,
            retry_at=retry_at,
            _real_url=real_url,
            _secrets=secrets,
        )

    def _call_log(self, source: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
        return build_call_log(source, created=_now_iso(self.clock), **fields)

    def _log_token_call(self, response: httpx.Response, elapsed_ms: float) -> None:
        """Call log for an OAuth2 token request (body only on error, token never)."""
        source = getattr(self._local, "source", None) or {}
        secrets = source_secrets(source)
        try:
            token = orjson.loads(response.content).get("access_token")
        except (orjson.JSONDecodeError, AttributeError):
            token = None
        if isinstance(token, str):
            secrets.append(token)
        log = self._call_log(
            source,
            status=response.status_code,
            message=response.reason_phrase or status_phrase(response.status_code),
            method=response.request.method,
            url=redact_url(str(response.request.url), secrets),
            request_headers=grouped_headers(response.request.headers),
            response=response,
            elapsed_ms=elapsed_ms,
            secrets=secrets,
        )
        log["purpose"] = "oauth2 token"
        self._emit(log, None)

    def _emit(self, log: dict[str, Any], trace: list[dict[str, Any]] | None) -> None:
        if trace is not None:
            trace.append(log)
        if self.log_sink is None:
            return
        try:
            self.log_sink(log)
        except Exception:  # a failing log store must not fail the call it logs
            logger.exception("Call log sink failed for %s", log.get("uuid"))

    @staticmethod
    def _pretty(result: CallResult) -> str:
        if not result.content:
            return redact_text(result.body, result._secrets)
        try:
            decoded = orjson.loads(result.content)
        except orjson.JSONDecodeError:
            return redact_text(result.body, result._secrets)
        return redact_text(orjson.dumps(decoded, option=orjson.OPT_INDENT_2).decode(), result._secrets)
