"""Where the bytes of files live: a directory (the default) or an S3-compatible bucket.

Both are streamed in chunks both ways, so a file of several gigabytes never sits
in memory: writing reads the caller's chunks one at a time (S3: parts of 8 MiB),
reading hands out chunks of 1 MiB. Writing also measures what it stores (size,
sha256, the first bytes) and stops with a 413 the moment the size passes the
limit, leaving nothing behind.

``OPENCONNECTOR_FILES_URL`` picks the storage (see :func:`open_storage`)::

    (unset)                                      <data_dir>/files
    /srv/openconnector/files or file:///srv/...  that directory
    s3://bucket/prefix                           an S3 bucket; credentials from the usual AWS
                                                 variables or files (boto3), and in the URL's
                                                 query: endpoint=http://127.0.0.1:9000 (MinIO),
                                                 region=eu-west-1

Keys are made by the service (``<object uuid>/<file uuid>``), never from a name a
client gave, and checked against that form before any path is built.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import uuid as uuidlib
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import NotFound, PayloadTooLarge, StorageUnavailable
from ..store.settings import Settings

#: Bytes per chunk handed out when reading.
CHUNK = 1024 * 1024

#: S3 multipart part size (S3's minimum is 5 MiB for all but the last part).
PART = 8 * 1024 * 1024

#: What the first bytes kept for sniffing count (``files/types.py`` reads 8 KiB).
HEAD = 8192

_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f-]{36}$")


@dataclass(frozen=True)
class Stored:
    """What a write stored: its size in bytes, its sha256 (hex) and its first bytes."""

    size: int
    checksum: str
    head: bytes


def too_large(limit: int) -> PayloadTooLarge:
    """The 413 of a file (an attachment or a source's upload) past ``OPENCONNECTOR_FILES_MAX_SIZE``."""
    return PayloadTooLarge(
        f"The file is larger than the limit of {limit} bytes (OPENCONNECTOR_FILES_MAX_SIZE)", limit=limit
    )


def limited(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """The chunks, raising :func:`too_large` as soon as they add up to more than ``limit``."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        yield chunk


class _Meter:
    """Counts and hashes the chunks passing through; 413 once they pass ``limit``."""

    def __init__(self, chunks: Iterable[bytes], limit: int) -> None:
        self.chunks = chunks
        self.limit = limit
        self.size = 0
        self.sha = hashlib.sha256()
        self.head = b""

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self.limit:
                raise too_large(self.limit)
            self.sha.update(chunk)
            if len(self.head) < HEAD:
                self.head += bytes(chunk[: HEAD - len(self.head)])
            yield chunk

    def stored(self) -> Stored:
        return Stored(self.size, self.sha.hexdigest(), self.head)


def peek(chunks: Iterator[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``size`` bytes of a stream (to sniff its type or encoding), and every
    chunk again from the start, so nothing is read twice or held beyond the head."""
    taken: list[bytes] = []
    held = 0
    for chunk in chunks:
        taken.append(chunk)
        held += len(chunk)
        if held >= size:
            break
    head = taken[0][:size] if len(taken) == 1 else b"".join(taken)[:size]
    return head, itertools.chain(taken, chunks)


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"Not a storage key: {key!r}")
    return key


class Storage:
    """The interface both storages offer; keys come from :func:`new_key`."""

    def put(self, key: str, chunks: Iterable[bytes], *, max_size: int) -> Stored:
        """Store the bytes ``chunks`` yields under ``key``; nothing is left when it fails."""
        raise NotImplementedError

    def open(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """The stored bytes as chunks; 404 (raised here, before the first chunk) when absent."""
        raise NotImplementedError

    def delete(self, keys: Iterable[str]) -> None:
        """Remove the bytes of ``keys``; keys already gone are fine."""
        raise NotImplementedError

    def entries(self) -> Iterator[tuple[str, float]]:
        """Every stored key with when it was written (unix seconds), to find bytes whose row is gone."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def new_key(object_uuid: str, file_uuid: str) -> str:
    return check_key(f"{object_uuid.lower()}/{file_uuid.lower()}")


class LocalStorage(Storage):
    """Files in a directory: ``<root>/<object uuid>/<file uuid>``, written through a
    temporary file in ``<root>/.incoming`` and moved in place when complete."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, chunks: Iterable[bytes], *, max_size: int) -> Stored:
        target = self._path(key)
        incoming = self.root / ".incoming"
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            incoming.mkdir(exist_ok=True, mode=0o700)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StorageUnavailable(
                f"Cannot write to the file storage {self.root}: {exc.strerror}"
            ) from None
        temporary = incoming / f"{uuidlib.uuid4().hex}.part"
        meter = _Meter(chunks, max_size)
        try:
            with open(temporary, "xb", buffering=0) as out:
                os.chmod(temporary, 0o600)
                for chunk in meter:
                    out.write(chunk)
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise StorageUnavailable(
                f"Cannot write to the file storage {self.root}: {exc.strerror}"
            ) from None
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return meter.stored()

    def open(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        try:
            handle = open(self._path(key), "rb", buffering=0)  # noqa: SIM115 - closed by _read
        except FileNotFoundError:
            raise NotFound(f"The bytes of file {key.split('/')[-1]} are missing from the storage") from None
        return _read(handle, chunk_size)

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            path = self._path(key)
            path.unlink(missing_ok=True)
            with suppress(OSError):
                path.parent.rmdir()  # only when it was the object's last file

    def entries(self) -> Iterator[tuple[str, float]]:
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            for file in folder.iterdir():
                key = f"{folder.name}/{file.name}"
                if _KEY.match(key):
                    with suppress(FileNotFoundError):
                        yield key, file.stat().st_mtime

    def describe(self) -> str:
        return str(self.root)


def _read(handle: Any, chunk_size: int) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(chunk_size):
            yield chunk


class S3Storage(Storage):
    """Files in an S3-compatible bucket (AWS, MinIO, ...) through boto3, under ``prefix``."""

    def __init__(
        self, bucket: str, prefix: str = "", *, endpoint: str | None = None, region: str | None = None
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, chunks: Iterable[bytes], *, max_size: int) -> Stored:
        name = self._name(key)
        meter = _Meter(chunks, max_size)
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            for chunk in meter:
                buffer += chunk
                while len(buffer) >= PART:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=name)[
                            "UploadId"
                        ]
                    part = bytes(buffer[:PART])
                    del buffer[:PART]
                    number = len(parts) + 1
                    answer = self.client.upload_part(
                        Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=part
                    )
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            if upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(buffer))
            else:
                if buffer:
                    number = len(parts) + 1
                    answer = self.client.upload_part(
                        Bucket=self.bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=bytes(buffer),
                    )
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException as exc:
            if upload_id is not None:
                with suppress(Exception):
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
            if _is_boto_error(exc):
                raise StorageUnavailable(
                    f"Cannot write to the file storage {self.describe()}: {exc}"
                ) from None
            raise
        return meter.stored()

    def open(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                raise NotFound(
                    f"The bytes of file {key.split('/')[-1]} are missing from the storage"
                ) from None
            if _is_boto_error(exc):
                raise StorageUnavailable(
                    f"Cannot read from the file storage {self.describe()}: {exc}"
                ) from None
            raise
        return _read_body(answer["Body"], chunk_size)

    def delete(self, keys: Iterable[str]) -> None:
        names = [{"Key": self._name(k)} for k in keys]
        for start in range(0, len(names), 1000):
            try:
                self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": names[start : start + 1000], "Quiet": True}
                )
            except Exception as exc:
                if _is_boto_error(exc):
                    raise StorageUnavailable(
                        f"Cannot delete from the file storage {self.describe()}: {exc}"
                    ) from None
                raise

    def entries(self) -> Iterator[tuple[str, float]]:
        paginator = self.client.get_paginator("list_objects_v2")
        start = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents") or ():
                key = item["Key"][len(start) :]
                if _KEY.match(key):
                    yield key, item["LastModified"].timestamp()

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


def _read_body(body: Any, chunk_size: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def _is_boto_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(("botocore", "boto3", "urllib3"))


def open_storage(settings: Settings) -> Storage:
    """The storage ``settings.files_url`` names (see the module docstring)."""
    url = settings.files_url
    if not url:
        return LocalStorage(settings.data_dir / "files")
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"OPENCONNECTOR_FILES_URL {url!r} names no bucket; use s3://bucket/prefix")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return S3Storage(
            parts.netloc, unquote(parts.path), endpoint=query.get("endpoint"), region=query.get("region")
        )
    if parts.scheme == "file":
        return LocalStorage(Path(unquote(parts.path)))
    if not parts.scheme or len(parts.scheme) == 1:  # a path (a Windows drive letter looks like a scheme)
        return LocalStorage(Path(url))
    raise ValueError(f"OPENCONNECTOR_FILES_URL {url!r}: use a directory, file:///path or s3://bucket/prefix")
