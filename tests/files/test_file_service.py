"""FileService on real storage: a directory under the data dir, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from woo_files import PDF, PNG, make_object

from openconnector import FileService
from openconnector.errors import BadRequest, NotFound, PayloadTooLarge
from openconnector.register.objects import ObjectService
from openconnector.register.registers import RegisterService


def test_added_file_is_listed_read_back_and_checksummed(any_context, woo_object):
    files = FileService(any_context)
    made = files.add(woo_object, PDF, name="besluit.pdf", labels=["besluit", "woo"], published=True)
    assert made["title"] == "besluit.pdf"
    assert made["type"] == "application/pdf"
    assert made["size"] == len(PDF)
    assert made["hash"] == hashlib.sha256(PDF).hexdigest()
    assert made["labels"] == ["besluit", "woo"]
    assert made["published"]
    assert made["downloadUrl"].endswith(f"/woo/besluit/{woo_object['id']}/files/{made['id']}/download")
    assert [f["id"] for f in files.list(woo_object["id"])] == [made["id"]]
    assert b"".join(files.open(woo_object["id"], made["uuid"])) == PDF
    stored = list((any_context.settings.data_dir / "files" / woo_object["id"]).iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == PDF


def test_content_streams_from_a_path_a_file_object_and_a_generator(context, an_object, tmp_path):
    files = FileService(context)
    path = tmp_path / "scan.png"
    path.write_bytes(PNG)
    from_path = files.add(an_object, path)
    assert (from_path["title"], from_path["type"]) == ("scan.png", "image/png")
    with path.open("rb") as handle:
        assert files.add(an_object, handle, name="again.png")["hash"] == from_path["hash"]
    chunks = (b"line %d\n" % i for i in range(100_000))
    big = files.add(an_object, chunks, name="lines.txt")
    assert big["type"] == "text/plain"
    assert big["size"] == sum(len(b"line %d\n" % i) for i in range(100_000))


def test_a_traversal_name_keeps_only_its_file_name(context, an_object):
    made = FileService(context).add(an_object, b"x", name="../../etc/passwd", content_type="text/plain")
    assert made["title"] == "passwd"
    assert not (context.settings.data_dir / "etc").exists()
    with pytest.raises(BadRequest, match="no usable characters"):
        FileService(context).add(an_object, b"x", name="../..")


def test_a_content_type_lie_is_refused_and_nothing_is_stored(context, an_object):
    files = FileService(context)
    with pytest.raises(BadRequest, match="application/pdf does not match the file: its bytes are image/png"):
        files.add(an_object, PNG, name="report.pdf", content_type="application/pdf")
    with pytest.raises(BadRequest, match="bytes do not start like application/pdf"):
        files.add(an_object, b"<html><script>alert(1)</script>", name="x.pdf", content_type="application/pdf")
    assert files.list(an_object) == []
    assert not any((context.settings.data_dir / "files").rglob("*-*"))


def test_too_large_is_413_and_leaves_nothing(context, an_object):
    from dataclasses import replace

    context.settings = replace(context.settings, files_max_size=1000)
    files = FileService(context)
    with pytest.raises(PayloadTooLarge):
        files.add(an_object, (b"a" * 300 for _ in range(10)), name="big.txt")
    assert files.list(an_object) == []
    assert not [p for p in (context.settings.data_dir / "files").rglob("*") if p.is_file()]


def test_update_renames_relabels_and_publishes(any_context, woo_object):
    files = FileService(any_context)
    made = files.add(woo_object, b"a,b\n1,2\n", name="data.csv")
    assert made["type"] == "text/csv" and made["published"] is None
    changed = files.update(woo_object, made["id"], name="sub/dir/cijfers.csv", labels="a, b", published=True)
    assert (changed["title"], changed["labels"]) == ("cijfers.csv", ["a", "b"])
    assert changed["published"] is not None
    assert files.list(woo_object, published_only=True)[0]["id"] == made["id"]
    later = files.update(woo_object, made["id"], published="2999-01-01T00:00:00Z")
    assert later["published"] == "2999-01-01T00:00:00+00:00"
    assert files.list(woo_object, published_only=True) == []
    assert files.depublish(woo_object, made["id"])["published"] is None
    assert files.get(woo_object, made["uuid"])["title"] == "cijfers.csv"


def test_replace_swaps_the_bytes_and_removes_the_old_ones(context, an_object):
    files = FileService(context)
    made = files.add(
        an_object, b"old text", name="note.txt", source={"url": "http://x/note.txt", "etag": "1"}
    )
    again = files.replace(
        an_object, made["id"], b"new text!", source={"url": "http://x/note.txt", "etag": "2"}
    )
    assert again["id"] == made["id"] and again["size"] == 9
    assert again["source"] == {"url": "http://x/note.txt", "etag": "2", "lastModified": None}
    assert b"".join(files.open(an_object, made["id"])) == b"new text!"
    stored = [p for p in (context.settings.data_dir / "files").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in stored] == [b"new text!"]


def test_a_file_of_another_object_or_a_wrong_schema_is_404(context, an_object):
    files = FileService(context)
    other = make_object(context, "Besluit 2")
    made = files.add(an_object, b"x", name="a.txt")
    with pytest.raises(NotFound):
        files.get(other, made["id"])
    with pytest.raises(NotFound):
        files.get(an_object, made["id"], register="openconnector", schema="source")
    with pytest.raises(NotFound):
        files.get(an_object, 999999)


def test_deleting_files_and_objects_removes_their_bytes(any_context, woo_object):
    files = FileService(any_context)
    root = any_context.settings.data_dir / "files"
    one = files.add(woo_object, b"1", name="one.txt")
    files.add(woo_object, b"2", name="two.txt")
    files.delete(woo_object, one["id"])
    assert [f["title"] for f in files.list(woo_object)] == ["two.txt"]
    ObjectService(any_context).delete_object(woo_object["id"])
    assert not [p for p in root.rglob("*") if p.is_file()]
    with any_context.db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM files").scalar_one() == 0


def test_bulk_object_deletes_and_register_deletes_remove_file_bytes(context):
    files = FileService(context)
    root = context.settings.data_dir / "files"
    first, second = make_object(context, "A"), make_object(context, "B")
    files.add(first, b"1", name="a.txt")
    files.add(second, b"2", name="b.txt")
    assert ObjectService(context).delete_objects([first["id"]]) == 1
    assert [p.read_bytes() for p in root.rglob("*") if p.is_file()] == [b"2"]
    RegisterService(context).delete_register("woo")
    assert not [p for p in root.rglob("*") if p.is_file()]


def test_a_rolled_back_object_delete_keeps_the_bytes(context, an_object):
    files = FileService(context)
    made = files.add(an_object, b"kept", name="kept.txt")
    with pytest.raises(RuntimeError), context.db.begin() as conn:
        ObjectService(context).delete_objects([an_object["id"]], conn=conn)
        raise RuntimeError("undo")
    assert b"".join(files.open(an_object, made["id"])) == b"kept"


def test_sweep_removes_bytes_without_a_row(context, an_object):
    files = FileService(context)
    files.add(an_object, b"keep", name="keep.txt")
    orphan = context.settings.data_dir / "files" / an_object["id"] / "00000000-0000-4000-8000-000000000000"
    orphan.write_bytes(b"lost")
    assert files.sweep(older_than=3600) == 0  # too fresh: may be an upload in flight
    assert files.sweep(older_than=-1) == 1
    assert not orphan.exists()
    assert len(files.list(an_object)) == 1


def test_deletes_in_a_callers_transaction_remove_the_bytes_when_it_commits(context, an_object):
    files = FileService(context)
    made = files.add(an_object, b"gone", name="gone.txt")
    root = context.settings.data_dir / "files"
    with context.db.begin() as conn:  # as a synchronisation deletes vanished records
        assert ObjectService(context).delete_objects([an_object["id"]], conn=conn) == 1
        assert [p.name for p in root.rglob("*") if p.is_file()]  # not before the commit
    assert not [p for p in root.rglob("*") if p.is_file()]
    with pytest.raises(NotFound):
        files.get(an_object, made["id"])


def test_stored_files_are_private_to_the_service_user(context, an_object):
    FileService(context).add(an_object, b"private", name="p.txt")
    root = context.settings.data_dir / "files"
    (stored,) = [p for p in root.rglob("*") if p.is_file()]
    assert stored.stat().st_mode & 0o777 == 0o600
    assert stored.parent.stat().st_mode & 0o777 == 0o700
    assert root.stat().st_mode & 0o777 == 0o700
