"""Files in an S3 bucket: the moto server on 127.0.0.1 stands in for S3 (or MinIO)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from woo_files import PDF, make_object

from openconnector import FileService
from openconnector.context import Context, set_context
from openconnector.errors import PayloadTooLarge
from openconnector.register.objects import ObjectService


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_context(settings, s3_endpoint, monkeypatch) -> Iterator[Context]:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"docs-{uuid.uuid4().hex[:12]}"  # one server for the module, a bucket per test
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/woo/files?endpoint={s3_endpoint}&region=us-east-1"
    context = Context(replace(settings, files_url=url))
    set_context(context)
    try:
        yield context
    finally:
        set_context(None)
        context.close()


def _bucket(context: Context) -> list[str]:
    storage = context.storage
    return [
        item["Key"] for item in storage.client.list_objects_v2(Bucket=storage.bucket).get("Contents") or []
    ]


def test_files_go_to_the_bucket_under_the_prefix_and_come_back(s3_context):
    obj = make_object(s3_context)
    files = FileService(s3_context)
    made = files.add(obj, PDF, name="besluit.pdf", content_type="application/pdf")
    assert len(_bucket(s3_context)) == 1 and _bucket(s3_context)[0].startswith(f"woo/files/{obj['id']}/")
    assert b"".join(files.open(obj, made["id"])) == PDF
    assert not (s3_context.settings.data_dir / "files").exists()


def test_a_large_file_goes_up_in_parts_and_streams_back(s3_context):
    obj = make_object(s3_context)
    files = FileService(s3_context)
    block = bytes(range(256)) * 4096  # 1 MiB
    chunks = (block for _ in range(20))  # 20 MiB: three multipart parts
    made = files.add(obj, chunks, name="big.bin")
    expected = hashlib.sha256(block * 20).hexdigest()
    assert (made["size"], made["hash"]) == (20 * len(block), expected)
    digest = hashlib.sha256()
    sizes = []
    for chunk in files.open(obj, made["id"]):
        digest.update(chunk)
        sizes.append(len(chunk))
    assert digest.hexdigest() == expected
    assert max(sizes) <= 1024 * 1024


def test_too_large_aborts_the_upload_and_leaves_nothing(s3_context):
    s3_context.settings = replace(s3_context.settings, files_max_size=10 * 1024 * 1024)
    obj = make_object(s3_context)
    with pytest.raises(PayloadTooLarge):
        FileService(s3_context).add(obj, (b"z" * 1024 * 1024 for _ in range(12)), name="big.bin")
    assert _bucket(s3_context) == []
    uploads = (
        s3_context.storage.client.list_multipart_uploads(Bucket=s3_context.storage.bucket).get("Uploads")
        or []
    )
    assert uploads == []


def test_deleting_the_object_deletes_its_files_in_the_bucket(s3_context):
    obj = make_object(s3_context)
    files = FileService(s3_context)
    files.add(obj, b"one", name="one.txt")
    files.add(obj, b"two", name="two.txt")
    assert len(_bucket(s3_context)) == 2
    ObjectService(s3_context).delete_object(obj["id"])
    assert _bucket(s3_context) == []
