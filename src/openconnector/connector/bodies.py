"""Decoding a source's answer: JSON, JSON Lines or XML, chosen by content type or source type.

The original decodes JSON and, failing that, XML with PHP's SimpleXML turned into
arrays: attributes under ``@attributes``, repeated elements as lists, the root
element's name dropped. We do the same, and keep an element's text beside its
attributes or children under ``#`` (SimpleXML loses it)::

    <pets count="2">                         {"@attributes": {"count": "2"},
      <pet id="1"><name>Bella</name></pet>     "pet": [{"@attributes": {"id": "1"}, "name": "Bella"},
      <pet id="2"><name>Max</name></pet>               {"@attributes": {"id": "2"}, "name": "Max"}]}
    </pets>

so ``resultsPosition: pet`` and ``idPosition: @attributes.id`` find the records.
Values stay text (XML has no numbers); an empty element is ``null``; namespace
prefixes are dropped (``<dc:title>`` is ``title``).

XML is parsed with defusedxml: a document that declares entities (the "billion
laughs" bomb, an external entity reading ``/etc/passwd``) or references an external
DTD is refused with ``SourceRejected``, before anything is expanded or fetched.
"""

from __future__ import annotations

from typing import Any

import orjson

from openconnector.connector.records import Unreadable
from openconnector.errors import SourceRejected

__all__ = ["decode_body", "is_xml_type", "parse_json_lines", "parse_xml", "xml_to_data"]

_XML_TYPES = ("/xml", "+xml")
_JSONL_TYPES = ("ndjson", "jsonl", "json-seq", "jsonlines")


def is_xml_type(content_type: str | None) -> bool:
    ct = (content_type or "").split(";")[0].strip().lower()
    return ct.endswith(_XML_TYPES)


def _local(name: str) -> str:
    """``{http://purl.org/dc/terms/}title`` → ``title``."""
    return name.rsplit("}", 1)[-1] if name.startswith("{") else name


def xml_to_data(element: Any) -> Any:
    """One element as the original's arrays: see the module docstring."""
    attributes = element.attrib
    children = list(element)
    text = (element.text or "").strip()
    if not attributes and not children:
        return text if text else None
    out: dict[str, Any] = {}
    if attributes:
        out["@attributes"] = {_local(k): v for k, v in attributes.items()}
    repeated: set[str] = set()
    for child in children:
        if not isinstance(child.tag, str):  # comments and processing instructions
            continue
        name = _local(child.tag)
        value = xml_to_data(child)
        if name not in out:
            out[name] = value
        elif name in repeated:
            out[name].append(value)
        else:
            out[name] = [out[name], value]
            repeated.add(name)
    tail_text = "".join((c.tail or "") for c in children).strip()
    if text or tail_text:
        out["#"] = " ".join(p for p in (text, tail_text) if p)
    return out


def parse_xml(content: bytes | str, where: str = "") -> Any:
    """An XML document as data (the root element's content), refusing entity tricks."""
    from xml.etree.ElementTree import ParseError

    import defusedxml
    from defusedxml.ElementTree import fromstring

    at = f" at {where}" if where else ""
    try:
        root = fromstring(content, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as exc:
        raise SourceRejected(
            f"The XML answer{at} declares an entity ({exc.name!r}) and was refused: entities can expand "
            "to gigabytes (billion laughs) or read local files (external entities)",
            url=where,
        ) from None
    except defusedxml.DefusedXmlException as exc:
        raise SourceRejected(
            f"The XML answer{at} was refused: {type(exc).__name__} ({exc})", url=where
        ) from None
    except ParseError as exc:
        raise SourceRejected(f"invalid XML{at}: {exc}", url=where) from None
    return xml_to_data(root)


def parse_json_lines(content: bytes | str, where: str = "") -> list[Any]:
    """One JSON value per line; blank lines are ignored, a line that is not JSON is ``Unreadable``."""
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    out: list[Any] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:  # an invalid record of the run, not the end of it
            out.append(Unreadable(f"Invalid JSON on line {number} of {where or 'the answer'}: {exc}"))
    return out


def decode_body(
    content: bytes | str, content_type: str | None, kind: str | None = None, where: str = ""
) -> Any:
    """The answer as data: ``kind`` (the source's type: ``xml``, ``jsonl``) wins over the content type.

    Returns ``None`` for an empty body. JSON is the default, as in the original.
    """
    if not (content.strip() if isinstance(content, bytes | str) else content):
        return None
    kind = (kind or "").lower()
    ct = (content_type or "").split(";")[0].strip().lower()
    if kind == "xml" or (kind not in ("json", "jsonl") and is_xml_type(ct)):
        return parse_xml(content, where)
    if kind == "jsonl" or any(marker in ct for marker in _JSONL_TYPES):
        return parse_json_lines(content, where)
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        head = content.lstrip()[:1]
        untyped = ct in ("", "text/plain", "application/octet-stream")
        if head in (b"<", "<") and kind != "json" and untyped:  # XML served as text/plain or without a type
            return parse_xml(content, where)
        raise SourceRejected(f"invalid JSON at {where}: {exc}", url=where) from None
