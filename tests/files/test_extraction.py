"""The background text extractor (files/extraction.py): files get their text after the upload,
in the scheduler's thread; a broken file is recorded once, a changed file is read again."""

from __future__ import annotations

import time

from documents import docx_bytes, pdf_bytes
from sqlalchemy import select

from openconnector.files.extraction import TextExtractor
from openconnector.files.service import FileService
from openconnector.jobs.scheduler import Scheduler
from openconnector.register.objects import ObjectService
from openconnector.store import tables as t

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _texts(context) -> dict[int, object]:  # type: ignore[no-untyped-def]
    with context.db.connect() as conn:
        return {r.file_id: r for r in conn.execute(select(t.file_texts))}


def _search(context, word: str) -> list[str]:  # type: ignore[no-untyped-def]
    found = ObjectService(context).find_all("woo", "besluit", search=word)["results"]
    return [o["title"] for o in found]


def test_the_scheduler_extracts_text_in_the_background(context, an_object):
    files = FileService(context)
    made = files.add(
        an_object,
        pdf_bytes("Besluit over de populier"),
        name="b.pdf",
        content_type="application/pdf",
        published=True,
    )
    assert _texts(context) == {}  # the upload did not wait for it
    scheduler = Scheduler(context, poll=0.1).start()
    try:
        deadline = time.monotonic() + 60
        while made["id"] not in _texts(context):
            assert time.monotonic() < deadline, "the text was not extracted within 60 s"
            time.sleep(0.1)
    finally:
        scheduler.stop(timeout=10)
    row = _texts(context)[made["id"]]
    assert (row.status, row.checksum) == ("done", made["hash"])
    assert "populier" in row.text
    assert _search(context, "populier") == [an_object["title"]]


def test_a_broken_file_is_recorded_once_with_its_reason(context, an_object):
    files = FileService(context)
    broken = files.add(
        an_object, b"%PDF-1.7 and then nothing", name="kapot.pdf", content_type="application/pdf"
    )
    other = files.add(an_object, b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, name="plaatje.png")
    extractor = TextExtractor(context)
    assert extractor.extract_pending() == 2
    rows = _texts(context)
    assert rows[broken["id"]].status == "failed" and rows[broken["id"]].error
    assert rows[other["id"]].status == "none" and rows[other["id"]].text is None
    assert extractor.extract_pending() == 0  # neither is tried again


def test_new_bytes_are_read_again_and_the_old_text_no_longer_matches(context, an_object):
    files = FileService(context)
    made = files.add(an_object, docx_bytes("de oude eik"), name="n.docx", content_type=DOCX, published=True)
    extractor = TextExtractor(context)
    extractor.extract_pending()
    assert _search(context, "eik") == [an_object["title"]]
    files.replace(an_object, made["id"], docx_bytes("de jonge beuk"), content_type=DOCX)
    assert _search(context, "eik") == []  # stale text is not searched, even before re-extraction
    assert extractor.extract_pending() == 1
    assert _search(context, "beuk") == [an_object["title"]]
    files.delete(an_object, made["id"])
    assert _texts(context) == {}  # the text goes with its file
    assert _search(context, "beuk") == []


def test_only_the_text_of_published_files_finds_an_object(context, an_object):
    """One index serves the admin's lists and the public catalog: the words of a file
    that is not published find nothing, until it is; unpublishing takes them out again."""
    files = FileService(context)
    made = files.add(an_object, docx_bytes("de verborgen wilg"), name="w.docx", content_type=DOCX)
    TextExtractor(context).extract_pending()
    assert _texts(context)[made["id"]].status == "done"
    assert _search(context, "wilg") == []
    files.publish(an_object, made["id"])
    assert _search(context, "wilg") == [an_object["title"]]
    ObjectService(context).save_object(
        {"title": an_object["title"], "samenvatting": "bijgewerkt"},
        "woo",
        "besluit",
        uuid=an_object["@self"]["uuid"],
    )
    assert _search(context, "wilg") == [an_object["title"]]  # a save of the object keeps its file text
    files.depublish(an_object, made["id"])
    assert _search(context, "wilg") == []
