"""Harvesting another catalog's DCAT-AP(-NL) feed: a source of ``type`` ``dcat``.

The source's location (plus the synchronisation's endpoint) is the feed URL. Each
page is fetched asking for Turtle, JSON-LD or RDF/XML, parsed with rdflib, and every
``dcat:Dataset`` in it becomes one record shaped like this service's dcat/dataset
objects (the default mapping)::

    {"id": "<dataset IRI>",            the origin id: a harvest never duplicates
     "title", "description",           Dutch text preferred, then English, then any
     "publisher": "<foaf:name or IRI>",
     "theme": "GOVE",                  EU data-theme code (the IRI's last segment)
     "keywords": [...], "landingPage", "license",
     "distributions": [{"title", "accessURL", "downloadURL", "mediaType", "format", "byteSize", "license"}],
     "modified": "...", "publicatiedatum": "<dct:issued>"}

Pages follow ``hydra:next`` (Hydra's ``PartialCollectionView``/``PagedCollection``).
A harvest is an ordinary synchronisation: unchanged datasets are skipped, datasets
gone from the feed are deleted after a complete run, a ``sourceTargetMapping`` may
reshape the records. RDF/XML is checked with defusedxml first (no entities); JSON-LD
that points at a remote ``@context`` is refused, since fetching it would reach out
to a server nobody configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, Namespace

from openconnector.connector.bodies import parse_xml
from openconnector.connector.pages import Page
from openconnector.connector.records import content_hash
from openconnector.connector.redaction import redact_url
from openconnector.errors import SourceRejected

__all__ = ["ACCEPT", "DcatPages", "dataset_records", "parse_feed"]

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ACCEPT = "text/turtle, application/ld+json;q=0.9, application/rdf+xml;q=0.8"
_FORMATS = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
    "application/rdf+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/n-triples": "nt",
    "text/plain": "nt",
}
_LANGUAGES = ("nl", "en", None)


def parse_feed(content: bytes, content_type: str | None, where: str = "") -> Graph:
    """One page of a feed as a graph; the format from the content type, else from the body."""
    ct = (content_type or "").split(";")[0].strip().lower()
    fmt = _FORMATS.get(ct)
    head = content.lstrip()[:1]
    if fmt is None or (fmt == "nt" and head in (b"@", b"<")):
        fmt = "xml" if head == b"<" else "json-ld" if head in (b"{", b"[") else "turtle"
    if fmt == "xml":
        parse_xml(content, where)  # refuses entity declarations before rdflib sees them
    if fmt == "json-ld":
        _refuse_remote_context(content, where)
    try:
        return Graph().parse(data=content, format=fmt)
    except Exception as exc:  # rdflib raises many kinds for bad input
        raise SourceRejected(f"The DCAT feed at {where} is not valid {fmt}: {exc}", url=where) from None


def _refuse_remote_context(content: bytes, where: str) -> None:
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise SourceRejected(f"invalid JSON-LD at {where}: {exc}", url=where) from None

    def contexts(node: Any) -> Iterator[Any]:
        if isinstance(node, dict):
            if "@context" in node:
                yield node["@context"]
            for value in node.values():
                yield from contexts(value)
        elif isinstance(node, list):
            for value in node:
                yield from contexts(value)

    for context in contexts(data):
        for item in context if isinstance(context, list) else [context]:
            if isinstance(item, str):
                raise SourceRejected(
                    f"The JSON-LD at {where} refers to a remote @context ({item}); it is not fetched. "
                    "Ask the catalog for Turtle or RDF/XML (set the endpoint's format) instead.",
                    url=where,
                )


def _text(graph: Graph, node: Any, predicate: URIRef) -> str | None:
    values = [o for o in graph.objects(node, predicate) if isinstance(o, Literal)]
    for language in _LANGUAGES:
        for value in values:
            if value.language == language or (language is None):
                return str(value)
    return None


def _one(graph: Graph, node: Any, predicate: URIRef) -> str | None:
    value = graph.value(node, predicate)
    return None if value is None else str(value)


def _code(iri: str | None) -> str | None:
    return iri.rstrip("/").rsplit("/", 1)[-1] if iri else None


def _agent(graph: Graph, node: Any) -> str | None:
    if node is None:
        return None
    name = _text(graph, node, FOAF.name)
    if name:
        return name
    return str(node) if isinstance(node, URIRef) else None


def _distribution(graph: Graph, node: Any) -> dict[str, Any] | None:
    access = _one(graph, node, DCAT.accessURL)
    download = _one(graph, node, DCAT.downloadURL)
    if not access and not download:
        return None
    out: dict[str, Any] = {"accessURL": access or download}
    if download:
        out["downloadURL"] = download
    for key, predicate in (("title", DCTERMS.title), ("description", DCTERMS.description)):
        if (text := _text(graph, node, predicate)) is not None:
            out[key] = text
    if (media := _one(graph, node, DCAT.mediaType)) is not None:
        out["mediaType"] = media.split("/media-types/", 1)[-1] if "/media-types/" in media else media
    if (fmt := _one(graph, node, DCTERMS["format"])) is not None:
        out["format"] = _code(fmt)
    size = graph.value(node, DCAT.byteSize)
    if size is not None:
        text = str(size)
        if text.isdigit():
            out["byteSize"] = int(text)
    if (licence := _one(graph, node, DCTERMS.license)) is not None:
        out["license"] = licence
    return out


def dataset_records(graph: Graph) -> list[dict[str, Any]]:
    """Every ``dcat:Dataset`` of the graph as a dcat/dataset-shaped record, in IRI order."""
    records = []
    for node in sorted(set(graph.subjects(RDF.type, DCAT.Dataset)), key=str):
        record: dict[str, Any] = {"id": str(node)}
        title = _text(graph, node, DCTERMS.title)
        if title is not None:
            record["title"] = title
        if (description := _text(graph, node, DCTERMS.description)) is not None:
            record["description"] = description
        if (publisher := _agent(graph, graph.value(node, DCTERMS.publisher))) is not None:
            record["publisher"] = publisher
        themes = sorted(str(t) for t in graph.objects(node, DCAT.theme))
        if themes:
            record["theme"] = _code(themes[0])
        keywords = sorted({str(k) for k in graph.objects(node, DCAT.keyword)})
        if keywords:
            record["keywords"] = keywords
        for key, predicate in (("landingPage", DCAT.landingPage), ("modified", DCTERMS.modified)):
            if (value := _one(graph, node, predicate)) is not None:
                record[key] = value
        if (issued := _one(graph, node, DCTERMS.issued)) is not None:
            record["publicatiedatum"] = issued
        distributions = [
            d for d in (_distribution(graph, n) for n in graph.objects(node, DCAT.distribution)) if d
        ]
        if distributions:
            distributions.sort(key=lambda d: (d["accessURL"], d.get("title") or ""))
            record["distributions"] = distributions
            licences = {d["license"] for d in distributions if "license" in d}
            if len(licences) == 1:
                record["license"] = licences.pop()
        records.append(record)
    return records


def _next_page(graph: Graph) -> str | None:
    for predicate in (HYDRA.next, HYDRA.nextPage):
        for value in graph.objects(None, predicate):
            return str(value)
    return None


class DcatPages(Iterator[Page]):
    """The feed's pages, following ``hydra:next``; the same shape as ``Pages``."""

    def __init__(self, calls: Any, source: dict[str, Any], endpoint: str, max_pages: int = 1000) -> None:
        self.calls = calls
        self.source = source
        self._next: str | None = endpoint
        self._seen: set[str] = set()
        self.max_pages = max_pages
        self.stop_reason: str | None = None
        self.pages_fetched = 0
        self.records = 0

    def close(self) -> None:
        """Nothing is held open between pages (``Pages.close``'s twin)."""

    def __next__(self) -> Page:
        url = self._next
        if url is None or self.stop_reason is not None:
            raise StopIteration
        if self.pages_fetched >= self.max_pages:
            self.stop_reason = f"maxPages ({self.max_pages}) reached"
            raise StopIteration
        location = str(self.source.get("location") or "")
        if location and url.startswith(location):
            url = url[len(location) :]  # a next link on the source's own server: keep its auth
        if url in self._seen:
            self.stop_reason = "the feed repeated a page"
            raise StopIteration
        self._seen.add(url)
        result = self.calls.call_resolved(self.source, url, headers={"Accept": ACCEPT})
        number = self.pages_fetched + 1
        result.raise_for_status(page=number)
        self.pages_fetched = number
        graph = parse_feed(result.content, result.headers.get("content-type"), result.url)
        records = dataset_records(graph)
        self._next = _next_page(graph)
        if not records:
            self.stop_reason = "empty page"
            raise StopIteration
        self.records += len(records)
        if self._next is None:
            self.stop_reason = "no next page"
        return Page(
            number=number,
            records=records,
            raw=None,
            url=redact_url(result.url),
            where=f"dcat:Dataset nodes of {redact_url(result.url)}",
            response=result,
            fingerprint=content_hash(records),
            stop_reason=self.stop_reason,
        )
