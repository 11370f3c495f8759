"""The DCAT-AP-NL 3.0 feed of a public catalog.

A catalog's published objects become ``dcat:Dataset`` nodes of one
``dcat:Catalog``, paged with Hydra so harvesters (data.overheid.nl,
ckanext-dcat, piveau) can walk 1000 datasets at a time::

    graph = build_graph(catalog, datasets, base_url="https://example.org",
                        feed_url="https://example.org/index.php/apps/opencatalogi/api/catalogs/pets/dcat",
                        page=1, per_page=1000, total=2500)
    fmt = negotiate(request.headers.get("accept"), request.query_params.get("format"))
    body, media_type = serialize(graph, fmt)

Every mandatory property of the profile gets a value, from the object or
from the catalog's defaults, so a bare ``{"title": "Bella", "category":
"Dogs"}`` still makes a conforming feed. The feed also types each
code-list value it points to (``<…/data-theme/AGRI> a skos:Concept``,
``<…/licence> a dct:LicenseDocument``, …): DCAT-AP checks the class of
every value and a validator cannot fetch the EU vocabularies, so without
those few triples a correct feed would fail validation. ``docs/dcat.md``
has the mapping table.

Turtle and JSON-LD are written here rather than by rdflib, whose Turtle
writer needs ~10 s for a 1000-dataset page; RDF/XML is written here too so
the three formats share one node order (stable bodies, stable ETags).
"""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from functools import partial
from hashlib import sha1
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import orjson
from rdflib import BNode, Graph, Literal, URIRef

from openconnector.catalog.themes import EU_THEME_SCHEME, THEMES, lookup_theme
from openconnector.errors import OpenConnectorError

__all__ = [
    "FORMATS",
    "UnsupportedFormat",
    "build_graph",
    "negotiate",
    "serialize",
    "with_distributions",
]

log = logging.getLogger(__name__)


class _Terms:
    """A vocabulary's terms as plain attributes.

    rdflib's namespace objects look a term up on every attribute access
    (~2 µs); a 1000-dataset page does that some 60 000 times.
    """

    def __init__(self, iri: str, terms: str) -> None:
        self._iri = iri
        for name in terms.split():
            setattr(self, name, URIRef(iri + name))

    def __str__(self) -> str:
        return self._iri

    def __getattr__(self, name: str) -> URIRef:  # only reached for a term not listed
        raise AttributeError(f"{self._iri}{name} is not a term this module writes")


ADMS = _Terms("http://www.w3.org/ns/adms#", "status")
DCAT = _Terms(
    "http://www.w3.org/ns/dcat#",
    "Catalog Dataset Distribution accessURL byteSize contactPoint dataset distribution downloadURL keyword "
    "landingPage mediaType theme themeTaxonomy",
)
DCTERMS = _Terms(
    "http://purl.org/dc/terms/",
    "LicenseDocument LinguisticSystem MediaType MediaTypeOrExtent RightsStatement accessRights creator "
    "description format identifier issued language license modified publisher title",
)
FOAF = _Terms("http://xmlns.com/foaf/0.1/", "Agent Document homepage name")
HYDRA = _Terms(
    "http://www.w3.org/ns/hydra/core#",
    "Collection PagedCollection PartialCollectionView first itemsPerPage last next previous totalItems view",
)
RDF = _Terms("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "type")
RDFS = _Terms("http://www.w3.org/2000/01/rdf-schema#", "Resource")
SPDX = _Terms("http://spdx.org/rdf/terms#", "Checksum ChecksumAlgorithm algorithm checksum checksumValue")
SKOS = _Terms("http://www.w3.org/2004/02/skos/core#", "Concept ConceptScheme inScheme prefLabel")
VCARD = _Terms("http://www.w3.org/2006/vcard/ns#", "Kind Organization fn hasEmail hasURL")
XSD = _Terms("http://www.w3.org/2001/XMLSchema#", "date dateTime hexBinary integer nonNegativeInteger string")

PREFIXES: dict[str, str] = {
    "adms": str(ADMS),
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "hydra": str(HYDRA),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "skos": str(SKOS),
    "spdx": str(SPDX),
    "vcard": str(VCARD),
    "xsd": str(XSD),
}

EU = "http://publications.europa.eu/resource/authority/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
DEFAULT_LICENSE = "http://creativecommons.org/publicdomain/zero/1.0/deed.nl"
DEFAULT_THEME = "GOVE"
DEFAULT_LANGUAGE = "NLD"
API_PATH = "/index.php/apps/opencatalogi/api"

# code -> (Dutch label, English label, words people use)
ACCESS_RIGHTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "PUBLIC": ("Publiek", "Public", ("public", "publiek", "openbaar", "open")),
    "RESTRICTED": ("Beperkt", "Restricted", ("restricted", "beperkt", "beperkt openbaar")),
    "NON_PUBLIC": (
        "Niet-publiek",
        "Non-public",
        ("non-public", "non public", "niet-publiek", "niet publiek", "niet openbaar", "private"),
    ),
}
DATASET_STATUS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "COMPLETED": (
        "Voltooid",
        "Completed",
        ("completed", "published", "gepubliceerd", "voltooid", "stable", "actueel", "active"),
    ),
    "DEVELOP": (
        "In ontwikkeling",
        "Under development",
        ("develop", "development", "in ontwikkeling", "concept", "draft", "beta", "planned", "gepland"),
    ),
    "DEPRECATED": (
        "Verouderd",
        "Deprecated",
        ("deprecated", "verouderd", "archived", "gearchiveerd", "obsolete"),
    ),
    "WITHDRAWN": ("Ingetrokken", "Withdrawn", ("withdrawn", "ingetrokken", "depublished", "gedepubliceerd")),
}
LANGUAGES: dict[str, tuple[str, str]] = {  # alias -> (EU language code, BCP 47 tag)
    "nl": ("NLD", "nl"),
    "nld": ("NLD", "nl"),
    "dut": ("NLD", "nl"),
    "nederlands": ("NLD", "nl"),
    "dutch": ("NLD", "nl"),
    "en": ("ENG", "en"),
    "eng": ("ENG", "en"),
    "engels": ("ENG", "en"),
    "english": ("ENG", "en"),
    "de": ("DEU", "de"),
    "deu": ("DEU", "de"),
    "ger": ("DEU", "de"),
    "duits": ("DEU", "de"),
    "fr": ("FRA", "fr"),
    "fra": ("FRA", "fr"),
    "fre": ("FRA", "fr"),
    "frans": ("FRA", "fr"),
    "fy": ("FRY", "fy"),
    "fry": ("FRY", "fy"),
    "fries": ("FRY", "fy"),
}
LICENSES: dict[str, str] = {  # short names publishers type -> DCAT-AP-NL licence URI
    "cc0": DEFAULT_LICENSE,
    "cc0-1.0": DEFAULT_LICENSE,
    "cc-0": DEFAULT_LICENSE,
    "publiek domein": DEFAULT_LICENSE,
    "public domain": DEFAULT_LICENSE,
    "cc-by": "http://creativecommons.org/licenses/by/4.0/deed.nl",
    "cc-by-4.0": "http://creativecommons.org/licenses/by/4.0/deed.nl",
    "cc-by-sa": "http://creativecommons.org/licenses/by-sa/4.0/deed.nl",
    "cc-by-sa-4.0": "http://creativecommons.org/licenses/by-sa/4.0/deed.nl",
    "pdm": "http://creativecommons.org/publicdomain/mark/1.0/deed.nl",
}
# extension or name -> (EU file-type code, IANA media type or None)
FILE_TYPES: dict[str, tuple[str, str | None]] = {
    "csv": ("CSV", "text/csv"),
    "json": ("JSON", "application/json"),
    "geojson": ("GEOJSON", "application/geo+json"),
    "jsonld": ("JSON_LD", "application/ld+json"),
    "json-ld": ("JSON_LD", "application/ld+json"),
    "json_ld": ("JSON_LD", "application/ld+json"),
    "xml": ("XML", "application/xml"),
    "rdf": ("RDF_XML", "application/rdf+xml"),
    "rdf_xml": ("RDF_XML", "application/rdf+xml"),
    "ttl": ("RDF_TURTLE", "text/turtle"),
    "turtle": ("RDF_TURTLE", "text/turtle"),
    "rdf_turtle": ("RDF_TURTLE", "text/turtle"),
    "pdf": ("PDF", "application/pdf"),
    "zip": ("ZIP", "application/zip"),
    "xlsx": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "xls": ("XLS", "application/vnd.ms-excel"),
    "ods": ("ODS", "application/vnd.oasis.opendocument.spreadsheet"),
    "docx": ("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "doc": ("DOC", "application/msword"),
    "odt": ("ODT", "application/vnd.oasis.opendocument.text"),
    "html": ("HTML", "text/html"),
    "htm": ("HTML", "text/html"),
    "txt": ("TXT", "text/plain"),
    "png": ("PNG", "image/png"),
    "jpg": ("JPEG", "image/jpeg"),
    "jpeg": ("JPEG", "image/jpeg"),
    "gif": ("GIF", "image/gif"),
    "kml": ("KML", "application/vnd.google-earth.kml+xml"),
    "gpkg": ("GPKG", "application/geopackage+sqlite3"),
    "shp": ("SHP", None),
    "parquet": ("PARQUET", None),
}
_FILE_TYPE_BY_CODE = {code: media for code, media in FILE_TYPES.values()}
_FILE_TYPE_BY_MEDIA = {media: code for code, media in reversed(FILE_TYPES.values()) if media}

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_IRI_SCHEMES = frozenset({"http", "https", "urn", "mailto", "ftp", "ftps"})
_WEB_SCHEMES = frozenset({"http", "https", "ftp", "ftps"})
# characters an IRI may not hold literally (RFC 3987 / Turtle IRIREF)
_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|\\^`\x7f]')
# characters XML 1.0 cannot carry at all, and lone surrogates no encoder accepts
_TEXT_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_EMAIL = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[^@\s<>\"(),;:\\\[\]]+\.[^@\s<>\"(),;:\\\[\]]+$")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+\-]*/[a-z0-9][a-z0-9!#$&^_.+\-]*$")


# --------------------------------------------------------------------------- values


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a page is built or written.

    A page makes ~100 000 small objects that reference counting frees on its
    own; meanwhile each burst of allocations triggers collections that
    rescan every live object of the process. Pausing saves a third of the
    build and half of the writing. Process-wide, but only ever switched
    back on by the call that switched it off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _text(value: object) -> str | None:
    """User text as a literal's string, or None when empty.

    Characters XML 1.0 cannot carry are dropped so that RDF/XML of the same
    graph stays well-formed; everything else (markup, quotes, newlines,
    non-ASCII) is kept as is and escaped by the writers.
    """
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = value if isinstance(value, str) else str(value)
    if _TEXT_UNSAFE.search(text):
        text = _TEXT_UNSAFE.sub("", text)
    text = text.strip()
    return text or None


def _iri(value: object, *, web: bool = False) -> URIRef | None:
    """An absolute IRI from user input, or None when it is not one.

    Only well-known schemes pass (``web`` narrows to http/https/ftp), so a
    value like ``dct:foo`` can never be read as a prefixed name by a
    JSON-LD processor. Spaces and other characters an IRI may not hold are
    percent-encoded instead of rejected: harvested URLs often contain them.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _SCHEME.match(text)
    if not match:
        return None
    scheme = match.group(1).lower()
    if scheme not in (_WEB_SCHEMES if web else _IRI_SCHEMES) or len(text) == len(scheme) + 1:
        return None
    if web and not text[len(scheme) + 1 :].startswith("//"):
        return None
    if _IRI_UNSAFE.search(text) or _TEXT_UNSAFE.search(text):
        text = _TEXT_UNSAFE.sub("", text)
        text = _IRI_UNSAFE.sub(lambda m: quote(m.group(0), safe=""), text)
    return URIRef(text)


def _email(value: object) -> URIRef | None:
    """A ``mailto:`` IRI for an e-mail address (with or without ``mailto:``), else None."""
    text = _text(value)
    if not text:
        return None
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if not _EMAIL.match(text):
        return None
    return URIRef("mailto:" + quote(text, safe="@!$&'*+=?^_`{|}~.-"))


def _temporal(value: object) -> Literal | None:
    """An ``xsd:dateTime`` or ``xsd:date`` literal from an ISO 8601 string, keeping its offset.

    DCAT-AP wants typed temporal literals; a string that does not parse is
    left out rather than published as a plain (and invalid) literal.
    """
    if isinstance(value, datetime):
        return Literal(value.isoformat(), datatype=XSD.dateTime, normalize=False)
    if isinstance(value, date):
        return Literal(value.isoformat(), datatype=XSD.date, normalize=False)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return Literal(date.fromisoformat(text).isoformat(), datatype=XSD.date, normalize=False)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        log.debug("dcat: not an ISO 8601 date %r", text)
        return None
    return Literal(parsed.isoformat(), datatype=XSD.dateTime, normalize=False)


def _code(value: object, table: Mapping[str, tuple[str, str, tuple[str, ...]]], authority: str) -> str | None:
    """The code in an EU authority ``table`` for a code, URI or alias, else None."""
    text = _text(value)
    if not text:
        return None
    prefix = EU + authority + "/"
    if text.lower().startswith(prefix.lower()) or text.lower().startswith("https://" + prefix[7:].lower()):
        text = text.rstrip("/").rsplit("/", 1)[-1]
    upper = text.upper().replace(" ", "_").replace("-", "_")
    if upper in table:
        return upper
    lowered = " ".join(text.lower().split())
    for code, (label_nl, label_en, aliases) in table.items():
        if lowered in aliases or lowered in (label_nl.lower(), label_en.lower()):
            return code
    return None


def _language(value: object) -> tuple[str, str] | None:
    """(EU language code, BCP 47 tag) for ``NLD``, ``nl``, ``Nederlands`` or an EU language URI."""
    text = _text(value)
    if not text:
        return None
    prefix = EU + "language/"
    if text.lower().startswith(prefix.lower()) or text.lower().startswith("https://" + prefix[7:].lower()):
        text = text.rstrip("/").rsplit("/", 1)[-1]
    found = LANGUAGES.get(text.lower())
    if found:
        return found
    if re.fullmatch(r"[A-Za-z]{3}", text):  # any other EU code, e.g. "SPA"; literals keep the catalog tag
        return text.upper(), ""
    return None


def _license(value: object) -> URIRef | None:
    """A licence IRI for a URI or a short name such as ``CC-BY-4.0``."""
    iri = _iri(value)
    if iri is not None:
        return iri
    text = _text(value)
    if not text:
        return None
    return URIRef(LICENSES[key]) if (key := "-".join(text.lower().split())) in LICENSES else None


def _file_type(fmt: object, media_type: object, url: str | None) -> tuple[URIRef | None, URIRef | None]:
    """(``dct:format`` IRI, ``dcat:mediaType`` IRI) from whatever the distribution gives.

    Each fills the other's gap, and the URL's extension fills both, because
    attachments usually carry only a file name.
    """
    code: str | None = None
    media: str | None = None
    fmt_iri = _iri(fmt)
    if fmt_iri is not None:
        tail = str(fmt_iri).rstrip("/").rsplit("/", 1)[-1]
        code = tail if tail in _FILE_TYPE_BY_CODE else None
    elif (text := _text(fmt)) is not None:
        key = text.lower().lstrip(".")
        if key in FILE_TYPES:
            code = FILE_TYPES[key][0]
        elif text.upper() in _FILE_TYPE_BY_CODE:
            code = text.upper()
        elif _MEDIA_TYPE.match(key):
            media = key
    if (text := _text(media_type)) is not None:
        candidate = text.split(";", 1)[0].strip().lower()
        if candidate.startswith(IANA_MEDIA_TYPES) or candidate.startswith(
            "http://www.iana.org/assignments/media-types/"
        ):
            candidate = candidate.split("/media-types/", 1)[1]
        if _MEDIA_TYPE.match(candidate):
            media = candidate
    if code is None and media is not None:
        code = _FILE_TYPE_BY_MEDIA.get(media)
    if code is None and url:
        path = urlsplit(url).path
        if "." in path.rsplit("/", 1)[-1]:
            found = FILE_TYPES.get(path.rsplit(".", 1)[-1].lower())
            if found:
                code = found[0]
    if media is None and code is not None:
        media = _FILE_TYPE_BY_CODE.get(code)
    format_iri = fmt_iri if fmt_iri is not None else (URIRef(EU + "file-type/" + code) if code else None)
    return format_iri, (URIRef(IANA_MEDIA_TYPES + media) if media else None)


def _byte_size(value: object) -> Literal | None:
    if isinstance(value, bool):
        return None
    try:
        size = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return Literal(str(size), datatype=XSD.nonNegativeInteger, normalize=False) if size >= 0 else None


#: SPDX's name for the one checksum algorithm files carry.
SHA256 = URIRef("http://spdx.org/rdf/terms#checksumAlgorithm_sha256")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _sha256(value: object) -> str | None:
    """A lower-case hex sha256 from ``"<hex>"`` or ``{"algorithm": "sha256", "value": "<hex>"}``."""
    if isinstance(value, Mapping):
        if str(value.get("algorithm") or "sha256").lower().replace("-", "") != "sha256":
            return None
        value = value.get("value")
    text = _text(value)
    if text is None:
        return None
    text = text.lower()
    return text if _HEX64.match(text) else None


def with_distributions(
    datasets: Iterable[Mapping[str, Any]],
    attachments: Mapping[str, list[Mapping[str, Any]]],
    base_url: str,
    catalog_slug: str,
) -> list[Mapping[str, Any]]:
    """The datasets with one distribution per published attachment, after their own.

    ``attachments`` are the published files by dataset uuid (``files/public.py``'s
    shape); each becomes ``downloadURL``/``accessURL`` (the public download route:
    DCAT-AP asks for an accessURL, and for a plain file the download is the access),
    ``mediaType``, ``byteSize`` and a sha256 ``checksum``.
    """
    from ..files.public import with_urls

    out: list[Mapping[str, Any]] = []
    for dataset in datasets:
        files = attachments.get(str(dataset.get("id"))) if isinstance(dataset, Mapping) else None
        if not files:
            out.append(dataset)
            continue
        own = dataset.get("distributions")
        distributions = list(own) if isinstance(own, (list, tuple)) else []
        for file in files:
            public = with_urls(dict(file), base_url, catalog_slug)
            distributions.append(
                {
                    "title": public.get("title"),
                    "downloadURL": public["downloadUrl"],
                    "accessURL": public["downloadUrl"],
                    "mediaType": public.get("type"),
                    "byteSize": public.get("size"),
                    "checksum": {"algorithm": "sha256", "value": public.get("hash")},
                }
            )
        out.append({**dataset, "distributions": distributions})
    return out


def _page_url(feed_url: str, page: int) -> URIRef:
    """``feed_url`` with ``page=N``, keeping its other query parameters."""
    parts = urlsplit(feed_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    query.append(("page", str(page)))
    return URIRef(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), "")))


def _catalog_iri(feed_url: str) -> URIRef:
    """The catalog's IRI: the feed URL without paging, so every page names the same catalog."""
    parts = urlsplit(feed_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("page", "format")]
    iri = _iri(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), "")), web=True)
    if iri is None:
        raise ValueError(f"feed_url must be an absolute http(s) URL, got {feed_url!r}")
    return iri


# --------------------------------------------------------------------------- graph


class _FeedBuilder:
    """Adds one catalog page to a graph; remembers which shared nodes exist already.

    Agents, contact points and code-list concepts are shared by many
    datasets, so each is written once per graph; that keeps a 1000-dataset
    page at ~20 triples per dataset.
    """

    def __init__(self, graph: Graph, catalog: Mapping[str, Any], base_url: str, catalog_iri: URIRef) -> None:
        self.graph = graph
        # straight into the store: Graph.add re-checks every term's type, a
        # quarter of the build time, and every term here is built by this class
        self.add = partial(graph.store.add, context=graph)
        self.catalog = catalog
        self.catalog_iri = catalog_iri
        self.slug = _text(catalog.get("slug")) or "publications"
        self.base = base_url.rstrip("/")
        self.dataset_prefix = f"{self.base}{API_PATH}/{quote(self.slug, safe='')}/"
        self.typed: set[tuple[URIRef | BNode, URIRef]] = set()
        self.agents: dict[str, URIRef | BNode] = {}
        self.agent_names: dict[URIRef | BNode, str] = {}  # real names, for contact points
        self.contacts: dict[str, URIRef] = {}
        self.theme_cache: dict[str, URIRef] = {}
        self.seen: set[str] = set()  # dataset ids on this page
        self.contact_name = ""  # set with the catalog contact point

        language = _language(catalog.get("language")) or ("NLD", "nl")
        self.language = URIRef(EU + "language/" + language[0])
        self.lang = language[1] or "nl"
        self.title = _text(catalog.get("title")) or self.slug
        self.license = _license(catalog.get("license")) or URIRef(DEFAULT_LICENSE)
        self.mapping = {
            " ".join(str(k).casefold().split()): v
            for k, v in (catalog.get("themeMapping") or {}).items()
            if isinstance(k, str)
        }
        default_theme = lookup_theme(catalog.get("defaultTheme"))
        if catalog.get("defaultTheme") and default_theme is None:
            log.warning(
                "dcat: catalog %s has unknown defaultTheme %r; using %s",
                self.slug,
                catalog.get("defaultTheme"),
                DEFAULT_THEME,
            )
        self.default_theme = THEMES[default_theme or DEFAULT_THEME].uri
        self.publisher = self._catalog_publisher()
        self.contact = self._catalog_contact()

    # -- helpers ---------------------------------------------------------

    def literal(self, text: str) -> Literal:
        return Literal(text, lang=self.lang)

    def type_once(self, node: URIRef | BNode, cls: URIRef) -> bool:
        """Add ``node a cls`` unless done; True the first time (callers then add labels)."""
        key = (node, cls)
        if key in self.typed:
            return False
        self.typed.add(key)
        self.add((node, RDF.type, cls))
        return True

    def concept(self, node: URIRef, labels: tuple[str, str], scheme: str | None = None) -> URIRef:
        if self.type_once(node, SKOS.Concept):
            self.add((node, SKOS.prefLabel, Literal(labels[0], lang="nl")))
            self.add((node, SKOS.prefLabel, Literal(labels[1], lang="en")))
            if scheme:
                self.add((node, SKOS.inScheme, URIRef(scheme)))
        return node

    def theme(self, dataset: Mapping[str, Any]) -> URIRef:
        """Dataset ``theme``, else ``category`` via the catalog mapping or as EU code/label, else the default."""
        code = lookup_theme(dataset.get("theme"))
        if code is None:
            category = _text(dataset.get("category"))
            if category is not None:
                cached = self.theme_cache.get(category)
                if cached is not None:
                    return cached
                target = self.mapping.get(" ".join(category.casefold().split()))
                code = lookup_theme(target) or lookup_theme(category)
                iri = self._theme_node(code)
                self.theme_cache[category] = iri
                return iri
        return self._theme_node(code)

    def _theme_node(self, code: str | None) -> URIRef:
        iri = URIRef(THEMES[code].uri) if code else URIRef(self.default_theme)
        theme = THEMES[iri.rsplit("/", 1)[-1]]
        if self.type_once(iri, SKOS.Concept):
            self.add((iri, SKOS.prefLabel, Literal(theme.label_nl, lang="nl")))
            self.add((iri, SKOS.prefLabel, Literal(theme.label_en, lang="en")))
            self.add((iri, SKOS.inScheme, URIRef(EU_THEME_SCHEME)))
        return iri

    def agent(self, value: object, name_hint: object = None) -> URIRef | BNode:
        """A ``foaf:Agent`` for a publisher given as URI, name or ``{name, uri}``; the catalog's when empty."""
        if isinstance(value, Mapping):
            name_hint = value.get("name") or name_hint
            uris = (value.get(key) for key in ("uri", "url", "id"))
            value = next((uri for uri in uris if _iri(uri) is not None), None) or value.get("name")
        text = _text(value)
        if text is None:
            return self.publisher
        iri = _iri(text)
        key = str(iri) if iri is not None else "name:" + " ".join(text.casefold().split())
        found = self.agents.get(key)
        if found is not None:
            return found
        # a name-only agent gets a blank node named after the name, so the same
        # input always gives the same bytes (and ETag)
        node: URIRef | BNode = (
            iri if iri is not None else BNode("agent" + sha1(key.encode()).hexdigest()[:20])
        )
        self.agents[key] = node
        self.add((node, RDF.type, FOAF.Agent))
        # an agent known only by URI is named by that URI: inventing a name would mislead
        name = _text(name_hint)
        self.add((node, FOAF.name, self.literal(name or text)))
        if name:
            self.agent_names[node] = name
        return node

    def contact_point(self, node: URIRef, name: str, email: URIRef | None, url: URIRef | None) -> URIRef:
        self.add((node, RDF.type, VCARD.Organization))
        self.add((node, RDF.type, VCARD.Kind))  # the shapes check vcard:Kind and run without inference
        self.add((node, VCARD.fn, self.literal(name)))
        if email is not None:
            self.add((node, VCARD.hasEmail, email))
        if url is not None:
            self.add((node, VCARD.hasURL, url))
        return node

    def document(self, iri: URIRef) -> URIRef:
        self.type_once(iri, FOAF.Document)
        return iri

    # -- catalog ---------------------------------------------------------

    def _catalog_publisher(self) -> URIRef | BNode:
        name = _text(self.catalog.get("publisher")) or self.title
        iri = _iri(self.catalog.get("publisherUri")) or URIRef(f"{self.catalog_iri}#publisher")
        self.add((iri, RDF.type, FOAF.Agent))
        self.add((iri, FOAF.name, self.literal(name)))
        self.agent_names[iri] = name
        self.agents[str(iri)] = iri
        self.agents["name:" + " ".join(name.casefold().split())] = iri
        return iri

    def _catalog_contact(self) -> URIRef:
        """The catalog's contact point; a contact form or the homepage when there is no e-mail.

        We never publish a placeholder address: harvesters mail it and a
        dead address is worse than a page with a contact form.
        """
        raw = self.catalog.get("contactPoint")
        given: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        if isinstance(raw, str):
            given = {"email": raw} if "@" in raw else {"url": raw}
        email = _email(given.get("email"))
        url = _iri(given.get("url"), web=True)
        if email is None and url is None:
            url = _iri(self.catalog.get("homepage"), web=True) or _iri(self.base + "/", web=True)
        self.contact_name = _text(given.get("name")) or self.agent_names[self.publisher]
        node = self.contact_point(URIRef(f"{self.catalog_iri}#contactpoint"), self.contact_name, email, url)
        if email is not None:
            self.contacts[str(email).lower()] = node
        return node

    def add_catalog(self) -> URIRef:
        c = self.catalog_iri
        add = self.add
        add((c, RDF.type, DCAT.Catalog))
        add((c, DCTERMS.title, self.literal(self.title)))
        add((c, DCTERMS.description, self.literal(_text(self.catalog.get("description")) or self.title)))
        add((c, DCTERMS.publisher, self.publisher))
        add((c, DCTERMS.creator, self.publisher))
        add((c, DCAT.contactPoint, self.contact))
        add((c, DCTERMS.license, self.license))
        self.type_once(self.license, DCTERMS.LicenseDocument)
        add((c, DCTERMS.language, self.language))
        self.type_once(self.language, DCTERMS.LinguisticSystem)
        homepage = _iri(self.catalog.get("homepage"), web=True)
        if homepage is not None:
            add((c, FOAF.homepage, self.document(homepage)))
        modified = _temporal(self.catalog.get("modified"))
        if modified is not None:
            add((c, DCTERMS.modified, modified))
        scheme = URIRef(EU_THEME_SCHEME)
        add((c, DCAT.themeTaxonomy, scheme))
        add((scheme, RDF.type, SKOS.ConceptScheme))
        add((scheme, DCTERMS.title, Literal("Data theme", lang="en")))
        add((scheme, DCTERMS.title, Literal("Datathema", lang="nl")))
        return c

    def add_paging(self, feed_url: str, page: int, per_page: int, count: int, total: int | None) -> None:
        """Hydra paging: the catalog is the collection, this page its view.

        The page is typed both ``hydra:PartialCollectionView`` (Hydra core)
        and ``hydra:PagedCollection`` (what ckanext-dcat and piveau look
        for). Without ``total`` a full page gets a ``next`` link and no
        ``last``; a short page tells the total itself.
        """
        if total is None and count < per_page:
            total = (page - 1) * per_page + count
        view = _page_url(feed_url, page)
        add = self.add
        add((self.catalog_iri, RDF.type, HYDRA.Collection))
        add((self.catalog_iri, HYDRA.view, view))
        add((view, RDF.type, HYDRA.PartialCollectionView))
        add((view, RDF.type, HYDRA.PagedCollection))
        add((view, HYDRA.first, _page_url(feed_url, 1)))
        add((view, HYDRA.itemsPerPage, Literal(per_page)))
        if page > 1:
            add((view, HYDRA.previous, _page_url(feed_url, page - 1)))
        if total is None:
            if count >= per_page:
                add((view, HYDRA.next, _page_url(feed_url, page + 1)))
            return
        last = max(1, -(-total // per_page))
        add((self.catalog_iri, HYDRA.totalItems, Literal(total)))
        add((view, HYDRA.totalItems, Literal(total)))
        add((view, HYDRA.last, _page_url(feed_url, last)))
        if page < last:
            add((view, HYDRA.next, _page_url(feed_url, page + 1)))

    # -- datasets --------------------------------------------------------

    def add_dataset(self, dataset: Mapping[str, Any]) -> URIRef | None:
        meta = dataset.get("@self") if isinstance(dataset.get("@self"), Mapping) else {}
        uuid = _text(dataset.get("id")) or _text(meta.get("id"))
        if uuid is None:
            log.warning("dcat: catalog %s: skipped an object without id", self.slug)
            return None
        if uuid in self.seen:
            # a second copy could add a second dct:modified or contact point: both max 1
            log.warning("dcat: catalog %s: skipped a second object with id %s", self.slug, uuid)
            return None
        self.seen.add(uuid)
        d = URIRef(self.dataset_prefix + quote(uuid, safe=""))
        add = self.add
        lit = self.literal
        title = _text(dataset.get("title")) or _text(dataset.get("name")) or uuid
        add((self.catalog_iri, DCAT.dataset, d))
        add((d, RDF.type, DCAT.Dataset))
        add((d, DCTERMS.title, lit(title)))
        add(
            (
                d,
                DCTERMS.description,
                lit(_text(dataset.get("description")) or _text(dataset.get("summary")) or title),
            )
        )
        add((d, DCTERMS.identifier, Literal(str(d))))
        add((d, DCAT.landingPage, self.document(_iri(dataset.get("landingPage"), web=True) or d)))

        publisher = self.agent(dataset.get("publisher"), dataset.get("publisherName"))
        add((d, DCTERMS.publisher, publisher))
        creator = dataset.get("creator")
        add((d, DCTERMS.creator, self.agent(creator) if creator else publisher))
        add((d, DCAT.contactPoint, self.dataset_contact(dataset, d, publisher)))
        add((d, DCAT.theme, self.theme(dataset)))

        rights = _code(dataset.get("accessRights"), ACCESS_RIGHTS, "access-right") or "PUBLIC"
        rights_iri = URIRef(EU + "access-right/" + rights)
        if self.type_once(rights_iri, DCTERMS.RightsStatement):
            self.concept(rights_iri, ACCESS_RIGHTS[rights][:2], EU + "access-right")
        add((d, DCTERMS.accessRights, rights_iri))

        language = _language(dataset.get("language"))
        language_iri = URIRef(EU + "language/" + language[0]) if language else self.language
        self.type_once(language_iri, DCTERMS.LinguisticSystem)
        add((d, DCTERMS.language, language_iri))

        issued = _temporal(dataset.get("publicatiedatum"))
        if issued is not None:
            add((d, DCTERMS.issued, issued))
        modified = _temporal(meta.get("updated")) or _temporal(meta.get("created"))
        if modified is not None:
            add((d, DCTERMS.modified, modified))
        status = _code(dataset.get("status"), DATASET_STATUS, "dataset-status")
        if status is not None:
            status_iri = self.concept(
                URIRef(EU + "dataset-status/" + status), DATASET_STATUS[status][:2], EU + "dataset-status"
            )
            add((d, ADMS.status, status_iri))

        keywords = dataset.get("keywords")
        if isinstance(keywords, str):
            keywords = keywords.split(",")
        if isinstance(keywords, (list, tuple)):
            for word in dict.fromkeys(filter(None, map(_text, keywords))):
                add((d, DCAT.keyword, lit(word)))

        distributions = dataset.get("distributions")
        if isinstance(distributions, (list, tuple)):
            licence = _license(dataset.get("license")) or self.license
            n = 0
            for item in distributions:
                if isinstance(item, Mapping) and self.add_distribution(d, n + 1, item, licence, language_iri):
                    n += 1
        return d

    def dataset_contact(self, dataset: Mapping[str, Any], d: URIRef, publisher: URIRef | BNode) -> URIRef:
        """The dataset's own contact when it has an e-mail or URL, else the catalog's."""
        email = _email(dataset.get("contactEmail"))
        url = _iri(dataset.get("contactUrl"), web=True)
        if email is None and url is None:
            return self.contact
        if (
            url is None
            and email is not None
            and (shared := self.contacts.get(str(email).lower())) is not None
        ):
            return shared
        name = _text(dataset.get("contactName")) or self.agent_names.get(publisher) or self.contact_name
        node = self.contact_point(URIRef(f"{d}#contactpoint"), name, email, url)
        if url is None and email is not None:
            self.contacts[str(email).lower()] = node
        return node

    def add_distribution(
        self, d: URIRef, n: int, item: Mapping[str, Any], licence: URIRef, language: URIRef
    ) -> bool:
        """One ``dcat:Distribution``; skipped (False) when it has no URL at all.

        ``dcat:accessURL`` is mandatory, so a distribution with only a
        ``downloadURL`` uses it for both, as DCAT-AP advises.
        """
        download = _iri(item.get("downloadURL"), web=True)
        access = _iri(item.get("accessURL"), web=True) or download
        if access is None:
            log.info("dcat: %s: skipped a distribution without accessURL/downloadURL", d)
            return False
        node = URIRef(f"{d}#distribution-{n}")
        add = self.add
        add((d, DCAT.distribution, node))
        add((node, RDF.type, DCAT.Distribution))
        add((node, DCAT.accessURL, access))
        self.type_once(access, RDFS.Resource)
        if download is not None:
            add((node, DCAT.downloadURL, download))
            self.type_once(download, RDFS.Resource)
        if (title := _text(item.get("title"))) is not None:
            add((node, DCTERMS.title, self.literal(title)))
        if (description := _text(item.get("description"))) is not None:
            add((node, DCTERMS.description, self.literal(description)))
        fmt, media = _file_type(item.get("format"), item.get("mediaType"), str(download or access))
        if fmt is not None:
            add((node, DCTERMS.format, fmt))
            self.type_once(fmt, DCTERMS.MediaTypeOrExtent)
        if media is not None:
            add((node, DCAT.mediaType, media))
            self.type_once(media, DCTERMS.MediaType)
        if (size := _byte_size(item.get("byteSize"))) is not None:
            add((node, DCAT.byteSize, size))
        if (digest := _sha256(item.get("checksum"))) is not None:
            checksum = URIRef(f"{node}-checksum")
            add((node, SPDX.checksum, checksum))
            add((checksum, RDF.type, SPDX.Checksum))
            add((checksum, SPDX.algorithm, SHA256))
            add((checksum, SPDX.checksumValue, Literal(digest, datatype=XSD.hexBinary, normalize=False)))
            self.type_once(SHA256, SPDX.ChecksumAlgorithm)
        own = _license(item.get("license")) or licence
        add((node, DCTERMS.license, own))
        self.type_once(own, DCTERMS.LicenseDocument)
        add((node, DCTERMS.language, language))
        return True


def build_graph(
    catalog: Mapping[str, Any],
    datasets: Iterable[Mapping[str, Any]],
    *,
    base_url: str,
    page: int = 1,
    per_page: int = 1000,
    total: int | None = None,
    feed_url: str,
) -> Graph:
    """One page of a catalog's DCAT-AP-NL feed as an rdflib graph.

    ``datasets`` are objects in the API's wire shape (properties at the top,
    ``id`` and ``@self``) already filtered to what the public may see; the
    caller pages them, this function only describes the page. A page
    without datasets still builds, but cannot conform: DCAT-AP-NL demands at
    least one ``dcat:dataset`` per catalog.

    The graph lives in rdflib's ``SimpleMemory`` store for speed. pyshacl
    insists on a context-aware store: validate the serialised bytes (what a
    harvester gets) or a copy, ``Graph() + graph``.
    """
    if page < 1 or per_page < 1:
        raise ValueError(f"page and per_page must be >= 1, got page={page} per_page={per_page}")
    # SimpleMemory: no named-graph bookkeeping or events, so adds cost a
    # third of the default store's (~0.3 s on a rich 1000-dataset page)
    graph = Graph(store="SimpleMemory")
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True, replace=True)
    if _iri(base_url, web=True) is None:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
    with _gc_paused():
        builder = _FeedBuilder(graph, catalog, base_url, _catalog_iri(feed_url))
        builder.add_catalog()
        count = 0
        for dataset in datasets:
            if isinstance(dataset, Mapping) and builder.add_dataset(dataset) is not None:
                count += 1
        builder.add_paging(feed_url, page, per_page, count, total)
    return graph


# --------------------------------------------------------------------------- formats

FORMATS: dict[str, str] = {
    "jsonld": "application/ld+json",
    "turtle": "text/turtle",
    "rdfxml": "application/rdf+xml",
}
_FORMAT_ALIASES = {
    "jsonld": "jsonld",
    "json-ld": "jsonld",
    "json": "jsonld",
    "turtle": "turtle",
    "ttl": "turtle",
    "rdfxml": "rdfxml",
    "rdf": "rdfxml",
    "xml": "rdfxml",
    "rdf+xml": "rdfxml",
}
_MEDIA_FORMATS = {
    "application/ld+json": "jsonld",
    "application/json": "jsonld",
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/rdf+xml": "rdfxml",
}


class UnsupportedFormat(OpenConnectorError, ValueError):
    """The client asked for a serialisation we do not write; the API answers 406."""

    status = 406
    error = "Not Acceptable"

    def __init__(self, asked: str) -> None:
        supported = [f"{name} ({media})" for name, media in FORMATS.items()]
        super().__init__(
            f"unsupported format {asked!r}; supported: {', '.join(supported)}",
            supported=list(FORMATS),
            mediaTypes=list(FORMATS.values()),
        )
        self.asked = asked


_WILDCARDS = {"*/*": "jsonld", "application/*": "jsonld", "text/*": "turtle"}


def negotiate(accept_header: str | None, format_param: str | None) -> str:
    """Pick ``jsonld``, ``turtle`` or ``rdfxml`` for a request.

    ``?format=`` wins over ``Accept`` so a link can be shared. Otherwise the
    highest ``q`` wins; on equal ``q`` an exact media type beats a wildcard
    and then the earlier entry wins. ``*/*``, ``application/*`` and no
    header give JSON-LD, ``text/*`` gives Turtle; ``q=0`` rules a type out.
    Raises ``UnsupportedFormat`` (a ``ValueError``, status 406) otherwise.
    """
    if format_param is not None and format_param.strip():
        found = _FORMAT_ALIASES.get(format_param.strip().lower())
        if found is None:
            raise UnsupportedFormat(format_param)
        return found
    if accept_header is None or not accept_header.strip(" ,\t"):
        return "jsonld"
    best: tuple[float, int, int, str] | None = None
    for position, part in enumerate(accept_header.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                q = 0.0 if q != q else min(max(q, 0.0), 1.0)  # NaN and out-of-range values
        if q <= 0:
            continue
        fmt = _MEDIA_FORMATS.get(media)
        specificity = 2
        if fmt is None:
            fmt = _WILDCARDS.get(media)
            specificity = 0 if media == "*/*" else 1
        if fmt is None:
            continue
        candidate = (q, specificity, -position, fmt)
        if best is None or candidate[:3] > best[:3]:
            best = candidate
    if best is None:
        raise UnsupportedFormat(accept_header)
    return best[3]


def serialize(graph: Graph, fmt: str = "jsonld") -> tuple[bytes, str]:
    """The graph's bytes (UTF-8) in ``fmt`` and the media type to send them with."""
    writer = {"jsonld": _write_jsonld, "turtle": _write_turtle, "rdfxml": _write_rdfxml}.get(fmt)
    if writer is None:
        raise UnsupportedFormat(fmt)
    with _gc_paused():
        return writer(graph), FORMATS[fmt]


# --------------------------------------------------------------------------- writers

# datasets, distributions and checksums share a rank: "<uuid>#distribution-1" sorts right after
# "<uuid>", and "<uuid>#distribution-1-checksum" right after its distribution
_RANK = {
    DCAT.Catalog: 0,
    HYDRA.PartialCollectionView: 1,
    DCAT.Dataset: 2,
    DCAT.Distribution: 2,
    SPDX.Checksum: 2,
}


_TYPE = str(RDF.type)
_RANK_BY_CLASS = {str(cls): rank for cls, rank in _RANK.items()}


def _nodes(graph: Graph) -> list[tuple[URIRef | BNode, list[tuple[str, Any]]]]:
    """Subjects with their (predicate IRI, object) pairs in a stable order.

    Catalog, page, each dataset with its distributions, then the shared
    nodes (agents, contact points, concepts); by IRI within each group;
    ``rdf:type`` first. The same graph always gives the same bytes, which
    keeps ETags stable. Predicates come back as plain ``str``: comparing
    rdflib terms runs Python code, comparing strings does not.
    """
    by_subject: dict[Any, list[tuple[tuple[str, str, str], str, Any]]] = {}
    rank: dict[Any, int] = {}
    for s, p, o in graph.triples((None, None, None)):
        pred = str(p)
        if pred == _TYPE:
            key = ("", str(o), "")
            found = _RANK_BY_CLASS.get(key[1])
            if found is not None and found < rank.get(s, 9):
                rank[s] = found
        else:
            key = (pred, str(o), getattr(o, "language", None) or str(getattr(o, "datatype", None) or ""))
        entry = by_subject.get(s)
        if entry is None:
            entry = by_subject[s] = []
        entry.append((key, pred, o))
    ordered = sorted(by_subject, key=lambda s: (rank.get(s, 9), isinstance(s, BNode), str(s)))
    result = []
    for s in ordered:
        entries = by_subject[s]
        entries.sort(key=lambda entry: entry[0])
        result.append((s, [(pred, o) for _, pred, o in entries]))
    return result


def _qname(iri: str) -> str | None:
    """``dcat:Dataset`` for a vocabulary IRI we know, None for anything else."""
    cut = max(iri.rfind("#"), iri.rfind("/")) + 1
    ns, local = iri[:cut], iri[cut:]
    for prefix, namespace in PREFIXES.items():
        if ns == namespace and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", local):
            return f"{prefix}:{local}"
    return None


_TTL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_TTL_STRING_UNSAFE = re.compile(r'["\\\n\r\t\b\f]|[\x00-\x1f\x7f]')
_TTL_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _ttl_string(text: str) -> str:
    return (
        '"'
        + _TTL_STRING_UNSAFE.sub(lambda m: _TTL_ESCAPES.get(m.group(0)) or f"\\u{ord(m.group(0)):04X}", text)
        + '"'
    )


def _ttl_term(term: Any, qnames: dict[str, str | None]) -> str:
    if isinstance(term, URIRef):
        text = str(term)
        if text not in qnames:
            qnames[text] = _qname(text)
        short = qnames[text]
        if short is not None:
            return short
        return "<" + _TTL_IRI_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04X}", text) + ">"
    if isinstance(term, BNode):
        return "_:b" + re.sub(r"[^A-Za-z0-9]", "", str(term))
    if isinstance(term, Literal):
        body = _ttl_string(str(term))
        if term.language:
            return f"{body}@{term.language}"
        if term.datatype is not None and term.datatype != XSD.string:
            return f"{body}^^{_ttl_term(term.datatype, qnames)}"
        return body
    raise TypeError(f"cannot write {term!r} as Turtle")


def _ttl_predicate(iri: str, qnames: dict[str, str | None]) -> str:
    if iri not in qnames:
        qnames[iri] = _qname(iri)
    return qnames[iri] or "<" + _TTL_IRI_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04X}", iri) + ">"


def _write_turtle(graph: Graph) -> bytes:
    qnames: dict[str, str | None] = {}
    out = [f"@prefix {prefix}: <{ns}> .\n" for prefix, ns in PREFIXES.items()]
    for subject, pairs in _nodes(graph):
        out.append("\n")
        out.append(_ttl_term(subject, qnames))
        last = None
        for p, o in pairs:
            obj = _ttl_term(o, qnames)
            if p == last:
                out.append(f" ,\n        {obj}")
            else:
                pred = "a" if p == _TYPE else _ttl_predicate(p, qnames)
                out.append(f"{' ;' if last is not None else ''}\n    {pred} {obj}")
                last = p
        out.append(" .\n")
    return "".join(out).encode("utf-8")


def _jsonld_term(term: Any, qnames: dict[str, str | None]) -> Any:
    if isinstance(term, URIRef):
        return {"@id": str(term)}
    if isinstance(term, BNode):
        return {"@id": "_:b" + re.sub(r"[^A-Za-z0-9]", "", str(term))}
    if term.language:
        return {"@value": str(term), "@language": term.language}
    if term.datatype is None or term.datatype == XSD.string:
        return str(term)
    datatype = str(term.datatype)
    if datatype not in qnames:
        qnames[datatype] = _qname(datatype)
    return {"@value": str(term), "@type": qnames[datatype] or datatype}


def _write_jsonld(graph: Graph) -> bytes:
    """Flattened JSON-LD: one ``@graph`` array, prefixes in ``@context``, full IRIs as ``@id``."""
    qnames: dict[str, str | None] = {}
    nodes = []
    for subject, pairs in _nodes(graph):
        node: dict[str, Any] = {"@id": _jsonld_term(subject, qnames)["@id"]}
        for p, o in pairs:
            if p == _TYPE and isinstance(o, URIRef):
                text = str(o)
                if text not in qnames:
                    qnames[text] = _qname(text)
                node.setdefault("@type", []).append(qnames[text] or text)
                continue
            if p not in qnames:
                qnames[p] = _qname(p)
            node.setdefault(qnames[p] or p, []).append(_jsonld_term(o, qnames))
        for key, values in node.items():
            if isinstance(values, list) and len(values) == 1 and key != "@type":
                node[key] = values[0]
        nodes.append(node)
    return orjson.dumps({"@context": dict(PREFIXES), "@graph": nodes})


def _write_rdfxml(graph: Graph) -> bytes:
    """Flat RDF/XML: one ``rdf:Description`` per subject, which every RDF/XML parser reads."""
    namespaces = dict(PREFIXES)
    extra: dict[str, str] = {}

    def element(iri: str) -> str:
        cut = max(iri.rfind("#"), iri.rfind("/")) + 1
        ns, local = iri[:cut], iri[cut:]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", local):
            raise ValueError(f"predicate {iri!r} has no XML name; RDF/XML cannot carry it")
        for prefix, namespace in namespaces.items():
            if namespace == ns:
                return f"{prefix}:{local}"
        prefix = extra.setdefault(ns, f"ns{len(extra) + 1}")
        namespaces[prefix] = ns
        return f"{prefix}:{local}"

    def node_attr(term: Any, attr: str) -> str:
        if isinstance(term, BNode):
            return f'rdf:nodeID="b{re.sub(r"[^A-Za-z0-9]", "", str(term))}"'
        return f"rdf:{attr}={quoteattr(str(term))}"

    tags: dict[str, str] = {}
    body: list[str] = []
    for subject, pairs in _nodes(graph):
        body.append(f"  <rdf:Description {node_attr(subject, 'about')}>\n")
        for p, o in pairs:
            tag = tags.get(p) or tags.setdefault(p, element(p))
            if isinstance(o, Literal):
                attrs = ""
                if o.language:
                    attrs = f" xml:lang={quoteattr(o.language)}"
                elif o.datatype is not None and o.datatype != XSD.string:
                    attrs = f" rdf:datatype={quoteattr(str(o.datatype))}"
                text = xml_escape(str(o), {"\r": "&#13;"})
                body.append(f"    <{tag}{attrs}>{text}</{tag}>\n")
            else:
                body.append(f"    <{tag} {node_attr(o, 'resource')}/>\n")
        body.append("  </rdf:Description>\n")
    head = ['<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF']
    head += [f"\n    xmlns:{prefix}={quoteattr(ns)}" for prefix, ns in namespaces.items()]
    head.append(">\n")
    return ("".join(head) + "".join(body) + "</rdf:RDF>\n").encode("utf-8")
