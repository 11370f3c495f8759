"""The file routes as a curl user meets them: upload, list, change, download, delete."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from woo_files import PDF, PNG, make_object

OR = "/index.php/apps/openregister/api"


@pytest.fixture
def obj(any_client):
    return make_object(any_client.app.state.context)


def files_url(obj: dict) -> str:
    return f"{OR}/objects/woo/besluit/{obj['id']}/files"


def test_multipart_upload_answers_the_file_object(any_client, obj):
    response = any_client.post(
        files_url(obj),
        files={"file": ("besluit.pdf", PDF, "application/pdf")},
        data={"labels": "besluit,woo", "published": "true"},
    )
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["title"] == "besluit.pdf" and made["extension"] == "pdf"
    assert (made["type"], made["size"]) == ("application/pdf", len(PDF))
    assert made["hash"] == hashlib.sha256(PDF).hexdigest()
    assert made["labels"] == ["besluit", "woo"] and made["published"]
    assert made["accessUrl"] == f"http://testserver{files_url(obj)}/{made['id']}"
    assert made["downloadUrl"] == made["accessUrl"] + "/download"
    listed = any_client.get(files_url(obj)).json()
    assert listed["total"] == 1 and listed["results"][0]["id"] == made["id"]
    assert any_client.get(made["accessUrl"]).json()["uuid"] == made["uuid"]


def test_download_streams_the_bytes_with_type_length_and_a_safe_name(any_client, obj):
    made = any_client.post(files_url(obj), files={"file": ("scan 1 ü.png", PNG, "image/png")}).json()
    response = any_client.get(made["downloadUrl"])
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == str(len(PNG))
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"scan 1 _.png\"; filename*=UTF-8''scan%201%20%C3%BC.png"
    )
    assert response.headers["etag"] == f'"{made["hash"]}"'
    assert "sandbox" in response.headers["content-security-policy"]


def test_raw_body_upload_takes_the_name_from_the_query(any_client, obj):
    response = any_client.post(
        files_url(obj) + "?name=cijfers.csv&labels=data",
        content=b"a;b\n1;2\n",
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    assert (response.json()["title"], response.json()["type"]) == ("cijfers.csv", "text/csv")
    assert response.json()["labels"] == ["data"]
    nameless = any_client.post(files_url(obj), content=b"x", headers={"Content-Type": "text/plain"})
    assert nameless.status_code == 400
    assert "?name=" in nameless.json()["message"]


def test_fields_sent_after_the_file_still_count(client):
    obj = make_object(client.app.state.context)
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nhello\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nrenamed.txt\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="labels[]"\r\n\r\nx\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    response = client.post(
        files_url(obj), content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 201, response.text
    assert (response.json()["title"], response.json()["labels"]) == ("renamed.txt", ["x"])


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("a\r\nSet-Cookie: x.txt", "aSet-Cookie x.txt"),
    ],
)
def test_traversal_and_header_breaking_names_are_cleaned(client, name, stored):
    obj = make_object(client.app.state.context)
    as_form = client.post(files_url(obj), files={"file": (name, b"text", "text/plain")})
    as_body = client.post(files_url(obj), params={"name": name}, content=b"text")
    for response in (as_form, as_body):
        assert response.status_code == 201, response.text
    # httpx percent-encodes CR and LF in a form's file name (as browsers do); the query does not
    assert as_body.json()["title"] == stored
    assert as_form.json()["title"] == stored.replace("aSet", "a%0D%0ASet")
    download = client.get(as_body.json()["downloadUrl"])
    assert "\n" not in download.headers["content-disposition"]
    assert not (client.app.state.context.settings.data_dir / "etc").exists()


def test_a_name_with_nothing_left_is_400(client):
    obj = make_object(client.app.state.context)
    response = client.post(
        files_url(obj) + "?name=../..", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.json()["property"] == "name"


def test_a_content_type_lie_is_400_and_stores_nothing(any_client, obj):
    response = any_client.post(files_url(obj), files={"file": ("photo.pdf", PNG, "application/pdf")})
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "Bad Request" and answer["property"] == "contentType"
    assert "application/pdf" in answer["message"] and "image/png" in answer["message"]
    exe = any_client.post(
        files_url(obj), files={"file": ("notes.txt", b"MZ\x90\x00" + bytes(300), "text/plain")}
    )
    assert exe.status_code == 400
    assert any_client.get(files_url(obj)).json()["total"] == 0


def test_too_large_is_413_json_early_and_midway(client):
    context = client.app.state.context
    context.settings = replace(context.settings, files_max_size=2048)
    obj = make_object(context)
    declared = client.post(files_url(obj) + "?name=big.bin", content=b"x" * (2 * 1024 * 1024))
    assert declared.status_code == 413
    assert declared.json()["error"] == "Payload Too Large" and declared.json()["limit"] == 2048
    streamed = client.post(files_url(obj) + "?name=big.txt", content=(b"y" * 1000 for _ in range(5)))
    assert streamed.status_code == 413, streamed.text
    assert client.get(files_url(obj)).json()["total"] == 0
    assert not [p for p in (context.settings.data_dir / "files").rglob("*") if p.is_file()]


def test_put_renames_labels_and_publishes_and_delete_removes(any_client, obj):
    made = any_client.post(files_url(obj), files={"file": ("a.txt", b"abc", "text/plain")}).json()
    changed = any_client.put(
        made["accessUrl"], json={"name": "../b.txt", "labels": ["x", "y"], "published": True}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["labels"]) == ("b.txt", ["x", "y"])
    assert changed.json()["published"]
    assert any_client.post(made["accessUrl"] + "/depublish").json()["published"] is None
    dated = any_client.post(made["accessUrl"] + "/publish", json={"date": "2030-01-01T00:00:00Z"})
    assert dated.json()["published"] == "2030-01-01T00:00:00+00:00"
    wrong = any_client.put(made["accessUrl"], json={"labels": 5})
    assert wrong.status_code == 400 and wrong.json()["property"] == "labels"
    bad_date = any_client.put(made["accessUrl"], json={"published": "soon"})
    assert bad_date.status_code == 400 and bad_date.json()["property"] == "published"
    assert any_client.delete(made["accessUrl"]).status_code == 204
    assert any_client.get(made["accessUrl"]).status_code == 404
    assert any_client.get(made["downloadUrl"]).status_code == 404


def test_missing_or_misplaced_file_field_is_400(client):
    obj = make_object(client.app.state.context)
    none = client.post(files_url(obj), data={"name": "x.txt"}, files={"other": ("x.txt", b"x", "text/plain")})
    assert none.status_code == 400 and none.json()["parameter"] == "file"
    fields_only = client.post(
        files_url(obj),
        content=b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert fields_only.status_code == 400 and "field" in fields_only.json()["message"]


def test_wrong_object_register_or_file_is_404(client):
    context = client.app.state.context
    obj, other = make_object(context, "A"), make_object(context, "B")
    made = client.post(files_url(obj), files={"file": ("a.txt", b"abc", "text/plain")}).json()
    assert client.get(f"{files_url(other)}/{made['id']}").status_code == 404
    assert client.get(f"{OR}/objects/openconnector/source/{obj['id']}/files").status_code == 404
    assert client.get(f"{files_url(obj)}/{made['id'] + 1000}/download").status_code == 404
    gone = client.post(
        f"{OR}/objects/woo/besluit/00000000-0000-4000-8000-000000000000/files?name=a.txt", content=b"x"
    )
    assert gone.status_code == 404


def test_anonymous_requests_are_refused_with_401(client):
    obj = make_object(client.app.state.context)
    made = client.post(files_url(obj), files={"file": ("a.txt", b"abc", "text/plain")}).json()
    for method, url in [
        ("GET", files_url(obj)),
        ("POST", files_url(obj) + "?name=b.txt"),
        ("GET", made["accessUrl"]),
        ("GET", made["downloadUrl"]),
        ("PUT", made["accessUrl"]),
        ("DELETE", made["accessUrl"]),
    ]:
        response = client.request(method, url, content=b"x", auth=None)
        assert response.status_code == 401, (method, url)
        assert response.json()["error"] == "Unauthorized"
    assert client.get(files_url(obj)).json()["total"] == 1


def test_the_short_prefix_serves_the_same_files(client):
    obj = make_object(client.app.state.context)
    client.post(files_url(obj), files={"file": ("a.txt", b"abc", "text/plain")})
    assert client.get(f"/apps/openregister/api/objects/woo/besluit/{obj['id']}/files").json()["total"] == 1
