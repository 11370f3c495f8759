"""``openconnector source|mapping|sync list|show|create|update|delete``: what the UI manages, from a shell.

One pattern for the three kinds (:func:`add_crud`), on the same :class:`EntityService`
the REST API uses, so a CLI edit behaves like a PUT: ``update`` changes only the fields
it is given, secrets stay encrypted and show as ``********``. Every command that takes a
reference accepts the id, the uuid, the slug or the name.

Input: ``--file FILE`` (JSON or YAML; ``-`` reads standard input) and/or
``--set key=value`` (repeatable; ``a.b=1`` sets a nested key; the value is read as JSON
when it is JSON, so ``--set isEnabled=false`` is a boolean and ``--set name=Pets`` text).
Output: a rich table for people, ``--json`` for scripts.
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..cli import DataDir, DbUrl, context_from
from ..errors import BadRequest

console = Console()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table")]
FileOption = Annotated[
    str | None,
    typer.Option(
        "--file", "-f", metavar="FILE", help="JSON or YAML file with the fields ('-' reads standard input)"
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="key=value (repeatable; a.b=1 for nested keys; JSON values allowed)",
    ),
]


def _short(value: Any, width: int = 60) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


#: Columns of ``list`` per kind, after id and name: (title, how to get it from the entity).
COLUMNS: dict[str, list[tuple[str, Callable[[dict[str, Any]], Any]]]] = {
    "source": [
        ("type", lambda e: e.get("type")),
        ("location", lambda e: e.get("location")),
        ("auth", lambda e: e.get("auth")),
        ("enabled", lambda e: "no" if e.get("isEnabled") is False else "yes"),
    ],
    "mapping": [
        ("keys", lambda e: len(e.get("mapping") or {})),
        ("description", lambda e: e.get("description")),
    ],
    "synchronization": [
        ("source", lambda e: e.get("sourceId")),
        ("endpoint", lambda e: (e.get("sourceConfig") or {}).get("endpoint")),
        ("mapping", lambda e: e.get("sourceTargetMapping")),
        ("target", lambda e: e.get("targetId")),
    ],
}


def read_fields(file: str | None, sets: list[str] | None) -> dict[str, Any]:
    """The fields given by ``--file`` and ``--set`` (``--set`` wins), checked to be an object."""
    import yaml

    data: dict[str, Any] = {}
    if file is not None:
        text = sys.stdin.read() if file == "-" else _read(file)
        try:
            loaded = yaml.safe_load(text)  # YAML is a superset of JSON: both work
        except yaml.YAMLError as exc:
            raise BadRequest(f"{file} is neither JSON nor YAML: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise BadRequest(f"{file} must hold one object (key: value), not a {type(loaded).__name__}")
        data.update(loaded)
    for item in sets or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise BadRequest(f"--set needs key=value, got {item!r}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = data
        *parents, last = key.strip().split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = value
    return data


def _read(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"Cannot read {file}: {exc.strerror}") from None


def _print_entity(entity: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(entity, indent=2, ensure_ascii=False, default=str))
        return
    table = Table(show_header=False, title=str(entity.get("name") or entity.get("uuid")))
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in entity.items():
        text = (
            value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False, default=str)
        )
        table.add_row(key, text)
    console.print(table)


def add_crud(group: typer.Typer, kind: str) -> None:
    """Add ``list``, ``show``, ``create``, ``update`` and ``delete`` of ``kind`` to ``group``."""
    from .entities import EntityService

    label = "synchronisation" if kind == "synchronization" else kind
    ref_help = f"The {label}'s id, uuid, slug or name"
    Ref = Annotated[str, typer.Argument(metavar=kind.upper(), help=ref_help)]  # noqa: N806

    def service(data_dir: Path | None, database_url: str | None) -> EntityService:
        return EntityService(kind, context_from(data_dir, database_url))

    @group.command("list", help=f"List {label}s (a table, or --json).")
    def list_(
        search: Annotated[
            str | None, typer.Option("--search", metavar="TEXT", help="Only those whose text contains this")
        ] = None,
        as_json: JsonFlag = False,
        data_dir: DataDir = None,
        database_url: DbUrl = None,
    ) -> None:
        params = [("_search", search)] if search else []
        entities = service(data_dir, database_url).list(params)
        if as_json:
            typer.echo(json.dumps(entities, indent=2, ensure_ascii=False, default=str))
            return
        table = Table(
            "id", "slug", "name", *(title for title, _ in COLUMNS[kind]), title=f"{len(entities)} {label}s"
        )
        for entity in entities:
            table.add_row(
                str(entity["id"]),
                _short(entity.get("slug"), 30),
                _short(entity.get("name"), 40),
                *(_short(get(entity)) for _, get in COLUMNS[kind]),
            )
        console.print(table)

    @group.command("show", help=f"Show one {label} with all its fields (secrets masked).")
    def show(
        ref: Ref,
        as_json: JsonFlag = False,
        data_dir: DataDir = None,
        database_url: DbUrl = None,
    ) -> None:
        _print_entity(service(data_dir, database_url).get(ref), as_json)

    @group.command("create", help=f"Create a {label} from --file and/or --set key=value.")
    def create(
        file: FileOption = None,
        sets: SetOption = None,
        as_json: JsonFlag = False,
        data_dir: DataDir = None,
        database_url: DbUrl = None,
    ) -> None:
        fields = read_fields(file, sets)
        if not fields:
            raise BadRequest(f"Give the new {label}'s fields with --file FILE or --set key=value")
        entity = service(data_dir, database_url).create(fields, owner="cli")
        if not as_json:
            console.print(f"[green]created[/green] {label} {entity['id']} ({entity['uuid']})")
        _print_entity(entity, as_json)

    @group.command(
        "update", help=f"Change the fields of a {label} given by --file and/or --set; others stay."
    )
    def update(
        ref: Ref,
        file: FileOption = None,
        sets: SetOption = None,
        as_json: JsonFlag = False,
        data_dir: DataDir = None,
        database_url: DbUrl = None,
    ) -> None:
        fields = read_fields(file, sets)
        if not fields:
            raise BadRequest("Give the fields to change with --file FILE or --set key=value")
        entity = service(data_dir, database_url).update(ref, fields)
        if not as_json:
            console.print(f"[green]updated[/green] {label} {entity['id']} to version {entity.get('version')}")
        _print_entity(entity, as_json)

    @group.command("delete", help=f"Delete a {label}.")
    def delete(
        ref: Ref,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
        as_json: JsonFlag = False,
        data_dir: DataDir = None,
        database_url: DbUrl = None,
    ) -> None:
        entities = service(data_dir, database_url)
        entity = entities.get(ref)
        if not yes and not typer.confirm(f"Delete {label} {entity['id']} {entity.get('name')!r}?"):
            raise typer.Exit(1)
        entities.delete(entity["uuid"])
        if as_json:
            typer.echo(json.dumps({"deleted": {"id": entity["id"], "uuid": entity["uuid"]}}))
        else:
            console.print(f"[green]deleted[/green] {label} {entity['id']} {entity.get('name')!r}")
