"""Streaming pages: ``Pages`` drives a paginator until a stop condition.

Per page: fetch → raise for a non-2xx status → decode JSON → find the records
(``connector/records.py``) → stop on an empty or repeated page → ask the
paginator (``connector/pagination.py``) for the next request. Requests are
made lazily, one per ``next()``, so a synchronisation holds one page in
memory (and may prefetch the next in a thread).

**Pages at once** (``concurrency`` > 1). A slow API (100-500 ms a page) makes a
sequential run wait for each page in turn. When the next page's address does not
depend on the current page's contents, up to ``concurrency`` pages are requested at
once and still handed out strictly in order, each through the exact steps above::

    page numbers, offsets        the paginator predicts the address (``Paginator.predict``)
    next links, Link headers     predictable once two steps changed one whole-number
                                 parameter by the same amount (?page=3 → 4 → 5), or
                                 one step when the first answer gave a total
    cursors, other links         sequential

A speculative request is only a head start: each page's real next request still
comes from the paginator, and when it differs from the one in flight (or there is
none: an empty, repeated, short or last page, ``maxPages``) the requests ahead are
dropped unseen. Errors of a page surface when its turn comes, so pages before it are
processed as in a sequential run. A page that arrives hands its slot to the next
request at once; at most ``concurrency`` pages past the one handed out are requested.
Requests past the end cost at most ``concurrency`` extra calls; to avoid them, speculation waits for two good pages
unless the first answer says how many pages there are (``total_pages_hint``), and
stays within that number.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openconnector.connector.pagination import (
    STOP_EMPTY,
    STOP_MAX_PAGES,
    STOP_REPEATED,
    PageContext,
    PageNumberPaginator,
    PageRequest,
    Paginator,
    integer_step,
    total_pages_hint,
)
from openconnector.connector.records import RecordsNotFound, content_hash, find_records
from openconnector.connector.redaction import redact_url
from openconnector.errors import SourceError

if TYPE_CHECKING:
    from openconnector.connector.call import CallResult

__all__ = ["Page", "Pages"]

logger = logging.getLogger("openconnector.connector")


@dataclass(repr=False)
class Page:
    """One page of records from ``CallService.pages``.

    ``stop_reason`` is set on the last page when the end is known without
    another request (no next link, maxPages); ``Pages.stop_reason`` always
    says why iteration ended.
    """

    number: int
    records: list[Any]
    raw: Any
    url: str
    where: str = ""
    response: CallResult | None = None
    stop_reason: str | None = None
    #: A hash of the records (keys sorted): equal pages have equal fingerprints.
    fingerprint: str = ""

    def __repr__(self) -> str:
        return f"<Page {self.number}: {len(self.records)} records from {self.url}>"


class Pages(Iterator[Page]):
    """The iterator ``CallService.pages`` returns; ``stop_reason`` once exhausted.

    ``fetch`` sends one page request (``CallService`` adds auth, retries and
    call logs; with ``concurrency`` > 1 it is called from several threads). Also counts
    ``pages_fetched`` (pages whose turn came), ``requests_sent`` (requests made, those sent
    ahead and dropped included) and ``records`` (records yielded). ``close()`` drops what
    was sent ahead; iteration to the end does so itself.
    """

    def __init__(
        self,
        fetch: Callable[[PageRequest], CallResult],
        request: PageRequest,
        paginator: Paginator,
        results_position: str | None,
        max_pages: int,
        concurrency: int = 1,
        decode: Callable[[CallResult], Any] | None = None,
    ) -> None:
        self._fetch = fetch
        #: Body → data; JSON unless the source or the content type says XML or JSON Lines.
        self._decode = decode or (lambda result: result.data())
        self.concurrency = max(1, int(concurrency or 1))
        #: Requests sent ahead of ``_next``, in page order, with their pending results.
        self._ahead: deque[tuple[PageRequest, Future[CallResult]]] = deque()
        self._pool: ThreadPoolExecutor | None = None
        #: Guards ``_ahead`` and ``_base``: an arriving page refills the window from its thread.
        self._lock = threading.RLock()  # reentrant: a page already arrived refills at once
        #: The page being handed out (request, number, its pending result or None while
        #: fetched directly): what requests ahead are predicted from.
        self._base: tuple[PageRequest, int, Future[CallResult] | None] | None = None
        #: Pages the first answer says the listing has (a bound on speculation), if it says.
        self._total_pages: int | None = None
        #: The last two requests handed out, to recognise predictable next links.
        self._recent: deque[PageRequest] = deque(maxlen=2)
        self.requests_sent = 0
        self._next: PageRequest | None = paginator.first(request)
        self.paginator = paginator
        self.results_position = results_position
        self.max_pages = max_pages
        self.stop_reason: str | None = None
        self.pages_fetched = 0
        self.records = 0
        self._seen_requests: set[str] = set()
        self._seen_fingerprints: set[str] = set()

    def __repr__(self) -> str:
        return (
            f"<Pages {self.paginator.name}: {self.pages_fetched} fetched, stop_reason={self.stop_reason!r}>"
        )

    def close(self) -> None:
        """Drop requests sent ahead and stop the fetch threads (a run that ends early)."""
        with self._lock:
            self._base = None
            self._drop_ahead()
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def _refill(self, _arrived: Future[CallResult]) -> None:
        """A page arrived: its slot goes to the next page at once, not when it is handed out."""
        with self._lock:
            if self._base is not None:
                self._send_ahead(*self._base)

    def _drop_ahead(self) -> None:
        while self._ahead:
            _, future = self._ahead.popleft()
            future.cancel()  # one already running completes; its result is never looked at

    def _take(self, request: PageRequest) -> Future[CallResult] | None:
        """The request sent ahead for this page, if it is the one the paginator asked for."""
        if self._ahead and self._ahead[0][0].key() == request.key():
            return self._ahead.popleft()[1]
        self._drop_ahead()  # the pages went another way than predicted
        return None

    def _predict(self, request: PageRequest, ahead: int) -> PageRequest | None:
        predicted = self.paginator.predict(request, ahead)
        if predicted is not None or self.paginator.name in ("cursor", "none", "auto"):
            return predicted
        if not self._recent:
            return None
        # Next links: two equal whole-number steps, or one when the first answer said how
        # many pages there are (a listing, not a feed); every guess is checked on arrival.
        step = integer_step(self._recent[-1], request)
        if step is None:
            return None
        if self._total_pages is None and (
            len(self._recent) < 2 or integer_step(self._recent[0], self._recent[1]) != step
        ):
            return None
        param, delta = step
        return PageRequest(request.url, {**request.query, param: int(request.query[param]) + delta * ahead})

    def _window(self, number: int) -> int:
        """How many pages past ``number`` may have been requested (in flight or arrived)."""
        if self.concurrency <= 1 or self.results_position == "_object":
            return 0
        limit = self.max_pages
        if self._total_pages is not None:
            # Page numbers without their own totalPath end on the empty page after the last,
            # which a sequential run requests too: ask for it with the last ones.
            last = self._total_pages + self._asks_past_total()
            if number >= last:
                return 0
            limit = min(limit, last)
        elif number <= 2:  # no known size: two good pages first (an API may ignore ?page=)
            return 0
        return max(0, min(self.concurrency, limit - number))

    def _asks_past_total(self) -> int:
        paginator = getattr(self.paginator, "chosen", None) or self.paginator
        return int(isinstance(paginator, PageNumberPaginator) and not paginator.total_path)

    def _in_flight(self, head: Future[CallResult] | None) -> int:
        return (head is None or not head.done()) + sum(1 for _, f in self._ahead if not f.done())

    def _send_ahead(self, request: PageRequest, number: int, head: Future[CallResult] | None) -> None:
        """Keep ``concurrency`` requests in flight: this page's (``head``, or about to be
        sent when None) and the ones after it; pages that arrived free their slot."""
        window = self._window(number)
        while len(self._ahead) < window and self._in_flight(head) < self.concurrency:
            predicted = self._predict(request, len(self._ahead) + 1)
            if predicted is None:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="page")
            future = self._pool.submit(self._fetch, predicted)
            self.requests_sent += 1
            self._ahead.append((predicted, future))
            # after append: a page that arrives at once refills from an up-to-date window
            future.add_done_callback(self._refill)

    def _finish(self, reason: str, url: str) -> None:
        self.close()
        self.stop_reason = reason
        self._next = None
        logger.info(
            "Pagination of %s stopped after %d pages (%d records): %s",
            url,
            self.pages_fetched,
            self.records,
            reason,
        )

    def __next__(self) -> Page:
        request = self._next
        if request is None:
            raise StopIteration
        number = self.pages_fetched + 1
        if number > self.max_pages:
            self._finish(STOP_MAX_PAGES, redact_url(request.url))
            raise StopIteration
        key = request.key()
        if key in self._seen_requests:
            self._finish(STOP_REPEATED, redact_url(request.url))
            raise StopIteration
        self._seen_requests.add(key)
        try:
            with self._lock:
                pending = self._take(request)
                self._base = (request, number, pending)
                self._send_ahead(request, number, pending)
                if pending is None:
                    self.requests_sent += 1
            result = pending.result() if pending is not None else self._fetch(request)
            self.pages_fetched = number
            result.raise_for_status(page=number)
            raw = self._decode(result)
            try:
                records, where = find_records(raw, self.results_position)
            except RecordsNotFound:
                # Past the first page, an empty object or null body is the end,
                # not a misconfigured resultsPosition.
                if number > 1 and not raw:
                    records, where = [], ""
                else:
                    raise
        except SourceError as exc:
            exc.details.setdefault("page", number)
            raise
        if not records:
            self._finish(STOP_EMPTY, result.url)
            raise StopIteration
        fingerprint = content_hash(records)
        if fingerprint in self._seen_fingerprints:
            self._finish(STOP_REPEATED, result.url)
            raise StopIteration
        self._seen_fingerprints.add(fingerprint)
        self._recent.append(request)
        if number == 1 and self.concurrency > 1:
            self._total_pages = total_pages_hint(self.paginator, raw, len(records))
        elif self._total_pages is not None and number > self._total_pages:
            self._total_pages = None  # a good page past the announced end: the count was wrong
        page = Page(
            number=number,
            records=records,
            raw=raw,
            url=result.url,
            where=where,
            response=result,
            fingerprint=fingerprint,
        )
        if self.results_position == "_object":
            self._next = None
            self._finish("single object", result.url)
        else:
            context = PageContext(
                number=number,
                request=request,
                url=result._real_url,
                body=raw,
                headers=result.headers,
                records=records,
            )
            self._next = self.paginator.next(context)
            if self._next is None:
                self._finish(self.paginator.stop_reason or "no next page", result.url)
            elif number >= self.max_pages:
                self._finish(STOP_MAX_PAGES, result.url)
        self.records += len(records)
        page.stop_reason = self.stop_reason
        return page
