"""CLI ``outbox list|retry``: the object events push synchronisations have not delivered yet."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..cli import DataDir, DbUrl, context_from
from . import outbox

console = Console()
outbox_app = typer.Typer(
    help="The outbox of push synchronisations: list and retry events.", no_args_is_help=True
)


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending or failed")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 100,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Events waiting for delivery (pending) or parked after failing (failed), oldest first."""
    context = context_from(data_dir, database_url)
    found = outbox.list_events(context, status, limit)
    if json_output:
        sys.stdout.write(json.dumps(found, indent=2) + "\n")
        return
    table = Table(title=f"{found['total']} event(s) in the outbox")
    for column in ("id", "status", "action", "object", "synchronization", "attempts", "last error"):
        table.add_column(column)
    for e in found["results"]:
        table.add_row(
            str(e["id"]),
            e["status"],
            e["action"],
            # a queued notification names its record; an object event the object
            (e["payload"] or {}).get("resourceUrl") or e["objectId"],
            e["synchronizationId"],
            str(e["attempts"]),
            (e["lastError"] or "")[:80],
        )
    console.print(table)


@outbox_app.command("retry")
def outbox_retry(
    event: Annotated[
        int | None, typer.Argument(help="The event's id; all failed events when left out")
    ] = None,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Make failed events pending again, due now (a running scheduler delivers them)."""
    context = context_from(data_dir, database_url)
    console.print(f"{outbox.retry(context, event)} event(s) pending again")
