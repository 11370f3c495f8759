"""Streaming pages: ``Pages`` drives a paginator until a stop condition.

Per page: fetch → raise for a non-2xx status → decode JSON → find the records
(``connector/records.py``) → stop on an empty or repeated page → ask the
paginator (``connector/pagination.py``) for the next request. Requests are
made lazily, one per ``next()``, so a synchronisation holds one page in
memory (and may prefetch the next in a thread).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openconnector.connector.pagination import (
    STOP_EMPTY,
    STOP_MAX_PAGES,
    STOP_REPEATED,
    PageContext,
    PageRequest,
    Paginator,
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
    call logs). Also counts ``pages_fetched`` (requests made) and ``records`` (records yielded).
    """

    def __init__(
        self,
        fetch: Callable[[PageRequest], CallResult],
        request: PageRequest,
        paginator: Paginator,
        results_position: str | None,
        max_pages: int,
        decode: Callable[[CallResult], Any] | None = None,
    ) -> None:
        self._fetch = fetch
        #: Body → data; JSON unless the source or the content type says XML or JSON Lines.
        self._decode = decode or (lambda result: result.data())
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

    def _finish(self, reason: str, url: str) -> None:
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
            result = self._fetch(request)
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
