"""CLI commands for files on objects: ``file add|list|get|delete|sweep``.

Each is a thin call to :class:`~openconnector.files.service.FileService`, the code the
REST routes run; names follow its keywords (``--label`` -> ``labels``, ``--published``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..cli import DataDir, DbUrl, context_from

console = Console()
file_app = typer.Typer(
    help="Files attached to objects (documents, annexes, data files).", no_args_is_help=True
)

ObjectArg = Annotated[str, typer.Argument(metavar="OBJECT", help="The object's uuid")]
FileArg = Annotated[str, typer.Argument(metavar="FILE", help="The file's id or uuid")]
Register = Annotated[
    str | None, typer.Option("--register", help="Also check the object is in this register (id/slug)")
]
Schema = Annotated[
    str | None, typer.Option("--schema", help="Also check the object has this schema (id/slug)")
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _service(data_dir: Path | None, database_url: str | None) -> Any:
    from .service import FileService

    return FileService(context_from(data_dir, database_url))


def _print(found: Any) -> None:
    sys.stdout.write(json.dumps(found, indent=2, ensure_ascii=False) + "\n")


@file_app.command("add")
def file_add(
    obj: ObjectArg,
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="The file to attach ('-' reads standard input)")
    ],
    name: Annotated[str | None, typer.Option(help="Name to store (default: the file's own name)")] = None,
    content_type: Annotated[
        str | None, typer.Option("--type", help="Content type (default: detected from the bytes)")
    ] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="A label (repeatable)")] = None,
    published: Annotated[
        str | None, typer.Option(help="'now' or an ISO date-time from which the file is public")
    ] = None,
    register: Register = None,
    schema: Schema = None,
    json_output: Json = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Attach a file to an object (streamed: any size up to OPENCONNECTOR_FILES_MAX_SIZE)."""
    service = _service(data_dir, database_url)
    content: Any = sys.stdin.buffer if str(path) == "-" else path
    if str(path) == "-" and not name:
        raise typer.BadParameter("Reading standard input needs --name", param_hint="--name")
    made = service.add(
        obj,
        content,
        name=name or (None if str(path) == "-" else path.name),
        content_type=content_type,
        labels=label,
        published=published,
        register=register,
        schema=schema,
    )
    if json_output:
        _print(made)
        return
    console.print(
        f"added file {made['id']} {made['title']} ({made['type']}, {made['size']} bytes, sha256 {made['hash'][:12]}…)",
        highlight=False,
    )


@file_app.command("list")
def file_list(
    obj: ObjectArg,
    register: Register = None,
    schema: Schema = None,
    json_output: Json = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """List an object's files: id, name, type, size, labels, published."""
    found = _service(data_dir, database_url).list(obj, register=register, schema=schema)
    if json_output:
        _print(found)
        return
    table = Table("id", "name", "type", "size", "labels", "published")
    for f in found:
        table.add_row(
            str(f["id"]), f["title"], f["type"], str(f["size"]), ", ".join(f["labels"]), f["published"] or ""
        )
    console.print(table)


@file_app.command("get")
def file_get(
    obj: ObjectArg,
    file: FileArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the bytes to this path ('-' for standard output)"),
    ] = None,
    register: Register = None,
    schema: Schema = None,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Print a file's details as JSON, or with --output write its bytes."""
    service = _service(data_dir, database_url)
    if output is None:
        _print(service.get(obj, file, register=register, schema=schema))
        return
    found, chunks = service.download(obj, file, register=register, schema=schema)
    if str(output) == "-":
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    with output.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    Console(stderr=True).print(f"wrote {found['size']} bytes to {output}", highlight=False)


@file_app.command("delete")
def file_delete(
    obj: ObjectArg,
    file: FileArg,
    register: Register = None,
    schema: Schema = None,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Remove a file from an object (its bytes too)."""
    _service(data_dir, database_url).delete(obj, file, register=register, schema=schema)
    console.print(f"file {file} deleted")


@file_app.command("sweep")
def file_sweep(
    older_than: Annotated[
        float, typer.Option("--older-than", help="Only stored bytes older than this many seconds")
    ] = 3600.0,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Remove stored bytes that no file names any more (after a crash or a register delete)."""
    removed = _service(data_dir, database_url).sweep(older_than=older_than)
    console.print(f"{removed} orphaned file(s) removed")


def register(app: typer.Typer) -> None:
    app.add_typer(file_app, name="file")
