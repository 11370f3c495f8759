"""Files as sources: CSV (encoding, delimiter and header detected; values stay text),
JSON Lines and .xlsx, over HTTP (streamed) or uploaded, in pages of rows."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from openconnector import ObjectService, SynchronizationService
from openconnector.connector.files import csv_rows

OC = "/index.php/apps/openconnector/api"

BESLUITEN = 'id;titel;bedrag;plaats\r\n1;Besluit één;1.000,50;Zaanstad\r\n2;Café vergunning;12;Den Haag\r\n3;"Regel met ; en\nnieuwe regel";007;Utrecht\r\n'


def _rows(data: bytes, **options):
    return list(csv_rows(iter([data]), {"header": None, **options}))


def test_csv_encoding_delimiter_and_header_are_detected_and_values_stay_text():
    rows = _rows(BESLUITEN.encode("cp1252"))
    assert rows[0] == {"id": "1", "titel": "Besluit één", "bedrag": "1.000,50", "plaats": "Zaanstad"}
    assert rows[2]["titel"] == "Regel met ; en\nnieuwe regel" and rows[2]["bedrag"] == "007"
    assert _rows(("\ufeff" + BESLUITEN).encode("utf-8"))[1]["titel"] == "Café vergunning"
    tabbed = _rows(b"id\tname\n1\tA\n2\tB\n")
    assert tabbed == [{"id": "1", "name": "A"}, {"id": "2", "name": "B"}]


def test_csv_without_a_header_gets_numbered_columns():
    rows = _rows(b"1,2024-01-01,10\n2,2024-02-01,20\n", header=False)
    assert rows[0] == {"column1": "1", "column2": "2024-01-01", "column3": "10"}


@pytest.fixture
def objects(context, make_dcat):
    make_dcat(context, plaats={"type": "string"}, bedrag={"type": "string"})
    return ObjectService(context)


def _save(objects, schema, data):
    return objects.save_object(object=data, register="openconnector", schema=schema)


def _sync(objects, source, endpoint="", mapping=None, **config):
    mapping = mapping or _save(
        objects,
        "mapping",
        {"name": "row", "mapping": {"title": "{{ titel }}", "plaats": "plaats", "bedrag": "bedrag"}},
    )
    return _save(
        objects,
        "synchronization",
        {
            "name": f"file {endpoint}",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": endpoint, **config},
            "targetId": "dcat/dataset",
        },
    )


def _titles(objects):
    return sorted(o["title"] for o in objects.find_all("dcat", "dataset", limit=1000)["results"])


def test_a_csv_url_synchronises_in_pages_skips_when_unchanged_and_deletes_removed_rows(objects, fake_api):
    lines = ["id,titel,plaats,bedrag"] + [f"{i},Besluit {i},Stad {i % 7},{i}.00" for i in range(1, 2501)]
    fake_api.files["besluiten.csv"] = ("\n".join(lines).encode(), "text/csv")
    source = _save(objects, "source", {"name": "Open data", "type": "csv", "location": fake_api.url})
    sync = _sync(objects, source, "/files/besluiten.csv", pageSize=1000)
    run = SynchronizationService().synchronize(sync["id"])
    assert run["status"] == "success", run["message"]
    assert run["result"]["objects"]["created"] == 2500 and run["result"]["pages"] == 3
    one = objects.find_all("dcat", "dataset", filters={"title": "Besluit 12"})["results"][0]
    assert one["bedrag"] == "12.00" and one["plaats"] == "Stad 5"

    again = SynchronizationService().synchronize(sync["id"])
    assert again["result"]["objects"]["skipped"] == 2500

    fake_api.files["besluiten.csv"] = ("\n".join(lines[:-10]).encode(), "text/csv")
    third = SynchronizationService().synchronize(sync["id"])
    assert third["result"]["objects"]["deleted"] == 10
    assert objects.find_all("dcat", "dataset", limit=0)["total"] == 2490


def test_json_lines_and_xlsx(objects, fake_api):
    openpyxl = pytest.importorskip("openpyxl")
    fake_api.files["rows.jsonl"] = (
        b'{"id": 1, "titel": "Een", "plaats": "A", "bedrag": "1"}\n\n{"id": 2, "titel": "Twee", "plaats": "B", "bedrag": "2"}\n',
        "application/x-ndjson",
    )
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "titel", "plaats", "bedrag"])
    sheet.append([10, "Tien", "C", "10"])
    sheet.append([None, None, None, None])
    sheet.append([11, "Elf", "D", "11"])
    buffer = io.BytesIO()
    book.save(buffer)
    fake_api.files["rows.xlsx"] = (
        buffer.getvalue(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    jsonl = _save(objects, "source", {"name": "jsonl", "type": "jsonl", "location": fake_api.url})
    xlsx = _save(objects, "source", {"name": "xlsx", "type": "xlsx", "location": fake_api.url})
    for source, endpoint in ((jsonl, "/files/rows.jsonl"), (xlsx, "/files/rows.xlsx")):
        run = SynchronizationService().synchronize(_sync(objects, source, endpoint)["id"])
        assert run["status"] == "success", run["message"]
        assert run["result"]["objects"]["created"] == 2
    assert _titles(objects) == ["Een", "Elf", "Tien", "Twee"]


def test_an_uploaded_csv_is_a_source(client, objects, context):
    source = _save(objects, "source", {"name": "Upload", "type": "csv", "location": ""})
    answer = client.post(
        f"{OC}/sources/{source['id']}/file",
        files={"file": ("../../besluiten.csv", BESLUITEN.encode("cp1252"), "text/csv")},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["location"] == "upload:besluiten.csv"
    assert (context.settings.data_dir / "uploads" / answer.json()["uuid"] / "besluiten.csv").is_file()
    run = SynchronizationService().synchronize(_sync(objects, source)["id"])
    assert run["status"] == "success", run["message"]
    assert _titles(objects) == ["Besluit één", "Café vergunning", "Regel met ; en\nnieuwe regel"]
    missing = client.post(f"{OC}/sources/{source['id']}/file", data={"nofile": "x"})
    assert missing.status_code == 400 and "file" in missing.json()["message"]


def test_testing_a_csv_url_reads_only_its_first_page(client, objects, fake_api):
    source = _save(objects, "source", {"name": "Big", "type": "csv", "location": fake_api.url})
    answer = client.post(f"{OC}/sources/test/{source['id']}", json={"endpoint": "/generated.csv?rows=50000"})
    assert answer.status_code == 200, answer.text
    preview = answer.json()["preview"]
    assert answer.json()["ok"] and preview["count"] == 1000 and len(preview["records"]) == 5
    assert preview["records"][0] == {"id": "1", "title": "Row 1", "amount": "7.50"}


def test_a_line_that_is_not_json_is_one_invalid_record(objects, fake_api):
    fake_api.files["broken.jsonl"] = (
        b'{"id": 1, "titel": "Een", "plaats": "A", "bedrag": "1"}\n'
        b'{"id": 2, "titel": "Twee", \n'
        b'{"id": 3, "titel": "Drie", "plaats": "C", "bedrag": "3"}\n',
        "application/x-ndjson",
    )
    source = _save(objects, "source", {"name": "broken", "type": "jsonl", "location": fake_api.url})
    run = SynchronizationService().synchronize(_sync(objects, source, "/files/broken.jsonl")["id"])
    counts = run["result"]["objects"]
    assert (counts["found"], counts["created"], counts["invalid"]) == (3, 2, 1)
    assert run["status"] == "warning"
    assert any("line 2" in reason["reason"] for reason in run["result"]["invalid"]), run["result"]["invalid"]
    assert _titles(objects) == ["Drie", "Een"]


def test_an_upload_over_the_size_limit_is_a_413_and_the_source_keeps_its_file(
    client, objects, context, monkeypatch
):
    source = _save(objects, "source", {"name": "Upload", "type": "csv", "location": ""})
    kept = client.post(f"{OC}/sources/{source['id']}/file", files={"file": ("a.csv", b"id\n1\n", "text/csv")})
    assert kept.status_code == 200, kept.text
    monkeypatch.setattr(context, "settings", replace(context.settings, files_max_size=1000))
    big = client.post(f"{OC}/sources/{source['id']}/file", files={"file": ("a.csv", b"x" * 5000, "text/csv")})
    assert big.status_code == 413 and "OPENCONNECTOR_FILES_MAX_SIZE" in big.json()["message"]
    folder = context.settings.data_dir / "uploads" / source["uuid"]
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv"]
    assert (folder / "a.csv").read_bytes() == b"id\n1\n"
    huge = client.post(
        f"{OC}/sources/{source['id']}/file",
        content=b"x" * 1_100_000,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert huge.status_code == 413  # refused from its Content-Length, before the body is read
