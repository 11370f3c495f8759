"""Text extraction from PDF, DOCX and ODT (files/text.py): the words come out, limits hold,
and a broken or hostile file gives "no text" with a reason instead of an exception."""

from __future__ import annotations

import io
import zipfile

from documents import docx_bytes, odt_bytes, pdf_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openconnector.files.text import DOCX, ODT, PDF, Limits, extract_bytes, kind_of


def test_pdf_text_comes_out_page_by_page() -> None:
    result = extract_bytes(
        pdf_bytes("Besluit op het Woo-verzoek\nover bomenkap", "Bijlage 2: inventaris"), PDF
    )
    assert result.error is None
    assert "Besluit op het Woo-verzoek" in result.text
    assert "bomenkap" in result.text
    assert result.text.index("bomenkap") < result.text.index("inventaris")


def test_docx_paragraphs_and_tables_come_out() -> None:
    data = docx_bytes("Inventarislijst Zwanenburg", table=[["nummer", "document"], ["1", "raadsbesluit"]])
    result = extract_bytes(data, DOCX)
    assert result.error is None
    assert "Inventarislijst Zwanenburg" in result.text
    assert "raadsbesluit" in result.text


def test_odt_headings_and_paragraphs_come_out_in_order() -> None:
    result = extract_bytes(odt_bytes("eerste alinea", "tweede alinea", heading="Besluitenlijst"), ODT)
    assert result.error is None
    assert result.text.split("\n") == ["Besluitenlijst", "eerste alinea", "tweede alinea"]


def test_type_is_taken_from_the_name_when_the_content_type_says_nothing() -> None:
    assert kind_of("application/octet-stream", "Besluit.PDF") == PDF
    assert kind_of(None, "notulen.odt") == ODT
    assert kind_of("image/png", "plaatje.pdf") is None  # a known other type is not second-guessed
    assert extract_bytes(b"\x89PNG....", "image/png").text == ""


def test_text_is_cut_at_the_character_limit() -> None:
    result = extract_bytes(docx_bytes("woord " * 2000), DOCX, limits=Limits(max_chars=500))
    assert result.truncated
    assert 0 < len(result.text) <= 500


def test_only_the_first_pages_are_read() -> None:
    pages = [f"pagina nummer {n}" for n in range(1, 6)]
    result = extract_bytes(pdf_bytes(*pages), PDF, limits=Limits(max_pages=2))
    assert result.truncated
    assert "pagina nummer 2" in result.text
    assert "pagina nummer 3" not in result.text


def test_a_zip_bomb_is_refused_before_parsing() -> None:
    data = docx_bytes("x" * 5000)
    result = extract_bytes(data, DOCX, limits=Limits(max_xml_bytes=1000))
    assert result.text == ""
    assert "word/document.xml unpacks to" in (result.error or "")


def test_a_zip_without_the_document_part_is_no_text() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("other.xml", "<a/>")
    for kind in (DOCX, ODT):
        result = extract_bytes(buffer.getvalue(), kind)
        assert result.text == "" and "has no" in (result.error or "")


def test_garbage_is_no_text_with_a_reason() -> None:
    for kind in (PDF, DOCX, ODT):
        result = extract_bytes(b"this is not a document at all", kind)
        assert result.text == ""
        assert result.error


def test_a_cut_off_pdf_is_no_crash() -> None:
    data = pdf_bytes("Besluit\nmet tekst")
    result = extract_bytes(data[: len(data) // 2], PDF)
    assert isinstance(result.text, str)


_SAMPLES = {
    PDF: pdf_bytes("Besluit op het verzoek", "tweede pagina"),
    DOCX: docx_bytes("Inventarislijst", "met regels"),
    ODT: odt_bytes("Bijlage", heading="Kop"),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(_SAMPLES)),
    cuts=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=8)), min_size=1, max_size=6),
)
def test_damaged_documents_never_raise(kind: str, cuts: list[tuple[float, bytes]]) -> None:
    data = bytearray(_SAMPLES[kind])
    for where, junk in cuts:
        at = int(where * (len(data) - 1))
        data[at : at + len(junk)] = junk
    result = extract_bytes(bytes(data), kind)
    assert isinstance(result.text, str)
    assert result.error is None or isinstance(result.error, str)
