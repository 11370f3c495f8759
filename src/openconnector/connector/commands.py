"""CLI commands of the connector: ``sync run``, ``source test``, ``mapping test``, ``endpoint test``
(and ``list|show|create|update|delete`` of sources, mappings and synchronisations, from ``entity_commands.py``).

Each is a thin call to the service the REST API uses; errors exit 1 with the message.
``sync run`` exits by the run's status (:data:`RUN_EXIT_CODES`, docs/operations.md), so
a script or cron can tell a clean run from one with invalid records and from a failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..cli import DataDir, DbUrl, context_from
from ..shutdown import stop_on_signals

#: ``sync run`` stopped by Ctrl-C or SIGTERM (after a complete page; nothing deleted).
EXIT_INTERRUPTED = 130

console = Console()
sync_app = typer.Typer(
    help="Synchronisations: list, show, create, update, delete, run and test them.", no_args_is_help=True
)
source_app = typer.Typer(
    help="Sources: list, show, create, update, delete and test them.", no_args_is_help=True
)
mapping_app = typer.Typer(
    help="Mappings: list, show, create, update, delete and test them.", no_args_is_help=True
)
endpoint_app = typer.Typer(help="Endpoints: try them.", no_args_is_help=True)


#: ``sync run``'s exit code per run status: 0 success, 1 failed, 3 completed with invalid
#: records (2 is Click's usage error), 130 stopped by Ctrl-C or SIGTERM after a complete
#: page (nothing deleted).
RUN_EXIT_CODES = {"success": 0, "error": 1, "warning": 3, "interrupted": EXIT_INTERRUPTED}


def _counts_table(log: dict[str, Any]) -> Table:
    objects = log["result"]["objects"]
    table = Table(title=f"{log['status']}: {log['message']}", show_lines=False)
    for key in ("found", "created", "updated", "skipped", "invalid", "deleted"):
        table.add_column(key, justify="right")
    table.add_row(
        *(str(objects[k]) for k in ("found", "created", "updated", "skipped", "invalid", "deleted"))
    )
    return table


@sync_app.command("run")
def sync_run(
    synchronization: Annotated[str, typer.Argument(help="Name, slug, id or uuid")],
    test: Annotated[
        bool, typer.Option("--test", help="Dry run: write nothing, report what would happen")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Rewrite records even when unchanged")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the run log as JSON")] = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Run a synchronisation now, with a progress bar and a result table.

    Exit code: 0 success, 1 failed (nothing could be written, or an error),
    3 completed with invalid records.
    """
    from .sync import SynchronizationService

    context = context_from(data_dir, database_url)
    service = SynchronizationService(context)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=json_output,
    ) as bar:
        task = bar.add_task("fetching", total=None)

        def progress(state: dict[str, Any]) -> None:
            o = state["objects"]
            bar.update(
                task,
                description=f"page {state['pages']}: {state['records']} records "
                f"({o['created']} created, {o['updated']} updated, {o['skipped']} skipped)",
            )

        with stop_on_signals():  # Ctrl-C or SIGTERM: stop after the current page, logged interrupted
            log = service.synchronize(synchronization, test=test, force=force, progress=progress)
    service.calls.close()
    if json_output:
        sys.stdout.write(json.dumps(log, indent=2, default=str) + "\n")
    else:
        console.print(_counts_table(log))
        for entry in log["result"]["invalid"][:20]:
            console.print(
                f"[yellow]invalid[/yellow] {entry.get('originId')}: {entry['reason']}",
                markup=True,
                highlight=False,
            )
    code = RUN_EXIT_CODES.get(log["status"], 0)
    if code:
        raise typer.Exit(code)


@source_app.command("test")
def source_test(
    source: Annotated[str, typer.Argument(help="Name, slug, id or uuid")],
    endpoint: Annotated[str, typer.Option(help="Path appended to the location")] = "",
    method: Annotated[str, typer.Option(help="HTTP method")] = "GET",
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Call a source once and show status, time and the response."""
    from .sources import SourceService

    service = SourceService(context_from(data_dir, database_url))
    result = service.test(source, endpoint, method.upper())
    service.calls.close()
    colour = "green" if result.get("ok") else "red"
    response = result.get("response") or {}
    console.print(
        f"[{colour}]{result.get('statusCode')} {result.get('statusMessage') or ''}[/{colour}] "
        f"in {response.get('responseTime', 0):.0f} ms"
    )
    if result.get("message"):
        console.print(result["message"], highlight=False, markup=False)
    body = response.get("body")
    if body:
        console.print(body[:4000], highlight=False, markup=False)
    if not result.get("ok"):
        raise typer.Exit(1)


@mapping_app.command("test")
def mapping_test(
    mapping: Annotated[str, typer.Argument(help="Name, slug, id or uuid")],
    input: Annotated[str, typer.Option("--input", help="The sample record as JSON, or @file.json")],
    schema: Annotated[str | None, typer.Option(help="Validate the result against this schema")] = None,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Run a mapping on a sample record and print the result (and validation errors)."""
    from .entities import EntityService
    from .mappings import MappingTester

    context = context_from(data_dir, database_url)
    raw = Path(input[1:]).read_text() if input.startswith("@") else input
    try:
        sample = json.loads(raw)
    except json.JSONDecodeError as exc:
        console.print(f"[red]--input is not JSON:[/red] {exc}")
        raise typer.Exit(1) from None
    stored = EntityService("mapping", context).get(mapping)
    result = MappingTester(context).test(stored, sample, schema)
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    if not result["isValid"]:
        raise typer.Exit(1)


@endpoint_app.command("test")
def endpoint_test(
    endpoint: Annotated[str, typer.Argument(help="Name, slug, id or uuid")],
    method: Annotated[str | None, typer.Option("--method", help="Default: the endpoint's method")] = None,
    path: Annotated[
        str | None, typer.Option("--path", help="The path after /api/endpoint/, with a ?query if any")
    ] = None,
    body: Annotated[str | None, typer.Option("--body", help="The JSON body, or @file.json")] = None,
    header: Annotated[
        list[str] | None, typer.Option("--header", "-H", help="'Name: value', may be repeated")
    ] = None,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Send one request through an endpoint (its rules included) and print the answer."""
    from ..api.endpoints import try_endpoint
    from .endpoints import EndpointService

    context = context_from(data_dir, database_url)
    headers: dict[str, str] = {}
    for item in header or []:
        name, sep, value = item.partition(":")
        if not sep:
            console.print(f"[red]--header must be 'Name: value', got {item!r}[/red]")
            raise typer.Exit(1)
        headers[name.strip()] = value.strip()
    raw = Path(body[1:]).read_text() if body and body.startswith("@") else body
    query = None
    if path and "?" in path:
        from urllib.parse import parse_qsl

        path, _, qs = path.partition("?")
        query = parse_qsl(qs, keep_blank_values=True)
    spec = {"method": method, "path": path, "headers": headers, "body": raw, "query": query}
    result = try_endpoint(EndpointService(context), endpoint, spec)
    status = result["statusCode"]
    colour = "green" if status < 400 else "red"
    console.print(f"[{colour}]{status}[/{colour}] {result['endpoint'] or ''}", highlight=False)
    if result["body"] is not None:
        text = result["body"] if isinstance(result["body"], str) else json.dumps(result["body"], indent=2)
        sys.stdout.write(text + "\n")
    from .endpoint_logs import EndpointLogWriter

    EndpointLogWriter.of(context).flush()
    if status >= 400:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from .entity_commands import add_crud

    add_crud(source_app, "source")
    add_crud(mapping_app, "mapping")
    add_crud(sync_app, "synchronization")
    app.add_typer(endpoint_app, name="endpoint")
    app.add_typer(sync_app, name="sync")
    app.add_typer(source_app, name="source")
    app.add_typer(mapping_app, name="mapping")
