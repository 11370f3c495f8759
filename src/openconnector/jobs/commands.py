"""CLI: ``sync schedule``, ``job list|run|logs``, ``worker`` and ``scheduler``.

``register(app)`` adds them to the ``openconnector`` Typer app (``cli.py`` calls it);
``sync schedule`` joins the connector's ``sync`` group when that exists.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (env OPENCONNECTOR_DATA_DIR)")
]
DbUrl = Annotated[
    str | None, typer.Option("--database-url", help="Database URL (env OPENCONNECTOR_DATABASE_URL)")
]


def _context(data_dir: Path | None, database_url: str | None) -> Any:
    from ..cli import context_from

    return context_from(data_dir, database_url)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The sub-app ``name`` of ``app``, created when no other package added it."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def _find_sync(context: Any, ref: str) -> dict[str, Any]:
    """A synchronisation by id, uuid, slug or exact name."""
    from ..connector.entities import EntityService
    from ..errors import NotFound
    from ..register.slugs import slugify

    service = EntityService("synchronization", context)
    for candidate in (ref, slugify(ref)):
        try:
            return service.get(candidate)
        except NotFound:
            continue
    named = [s for s in service.list() if s.get("name") == ref]
    if len(named) == 1:
        return named[0]
    raise NotFound(
        f"Synchronization {ref!r} not found"
        if not named
        else f"{len(named)} synchronizations are named {ref!r}; use the id"
    )


def sync_schedule(
    ref: Annotated[
        str, typer.Argument(metavar="SYNCHRONIZATION", help="Synchronization id, uuid, slug or name")
    ],
    interval: Annotated[int | None, typer.Option(help="Run every N seconds")] = None,
    cron: Annotated[str | None, typer.Option(help='Run on a cron expression, e.g. "*/5 * * * *"')] = None,
    force: Annotated[bool, typer.Option(help="Rewrite unchanged records on every run")] = False,
    disable: Annotated[bool, typer.Option("--disable", help="Keep the job but stop running it")] = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Schedule a synchronisation: creates or updates its job."""
    from .service import JobService

    if interval is None and cron is None and not disable:
        raise typer.BadParameter("give --interval SECONDS or --cron EXPRESSION")
    context = _context(data_dir, database_url)
    sync = _find_sync(context, ref)
    job = JobService(context).schedule(
        sync["uuid"], interval=interval, cron=cron, force=force, enabled=not disable
    )
    state = "disabled" if disable else f"next run {job.get('nextRun')}"
    console.print(
        f"job {job['id']} ({job['uuid']}) runs {sync.get('name')!r} every "
        f"{job.get('interval')}{'' if cron else ' s'}; {state}"
    )


def job_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """List jobs with their schedule and last outcome."""
    from .runner import short_name
    from .service import JobService

    jobs = JobService(_context(data_dir, database_url)).list()
    if as_json:
        typer.echo(json.dumps(jobs, default=str, indent=2))
        return
    table = Table("id", "name", "class", "interval", "enabled", "next run", "last run", "status")
    for job in jobs:
        table.add_row(
            str(job["id"]),
            str(job.get("name") or ""),
            short_name(job.get("jobClass")),
            str(job.get("interval") or ""),
            "yes" if job.get("isEnabled", True) else "no",
            str(job.get("nextRun") or ""),
            str(job.get("lastRun") or ""),
            str(job.get("status") or ""),
        )
    console.print(table)


def job_run(
    ref: Annotated[str, typer.Argument(metavar="JOB", help="Job id, uuid, slug or name")],
    force: Annotated[bool, typer.Option(help="Run even when the job is not due")] = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Run one job now (if due, or with --force) and print its log."""
    from ..shutdown import stop_on_signals
    from .service import JobService

    context = _context(data_dir, database_url)
    with stop_on_signals():  # SIGTERM or Ctrl-C: the run stops after its page, logged interrupted
        entry = JobService(context).run(ref, force=force, on_conflict="raise")
    if entry is None:
        console.print("not due; use --force to run it now")
        return
    typer.echo(json.dumps(entry, default=str, indent=2))
    if entry["level"] == "ERROR":
        raise typer.Exit(1)


def job_logs(
    job: Annotated[str | None, typer.Option("--job", help="Only this job (id or uuid)")] = None,
    level: Annotated[str | None, typer.Option(help="INFO, SUCCESS, WARNING or ERROR")] = None,
    limit: Annotated[int, typer.Option(help="How many")] = 20,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Print the newest job logs."""
    from .service import JobService

    params = (
        [("_limit", str(limit))] + ([("job_id", job)] if job else []) + ([("level", level)] if level else [])
    )
    page = JobService(_context(data_dir, database_url)).logs(params)
    for entry in page["results"]:
        console.print(
            f"{entry['created']} {entry['level']:<7} {entry['jobId']} {entry['executionTime']} ms  "
            f"{entry['message']}"
        )


MetricsPort = Annotated[
    int | None,
    typer.Option(
        envvar="OPENCONNECTOR_METRICS_PORT",
        help="Serve this process's Prometheus metrics at http://ADDRESS:PORT/metrics (no login)",
    ),
]
MetricsAddress = Annotated[
    str, typer.Option(help="Address for --metrics-port; only the Prometheus server should reach it")
]


def _serve_metrics(port: int | None, address: str) -> None:
    if port:
        from ..metrics import serve_metrics

        serve_metrics(port, address)
        console.print(f"metrics: http://{address}:{port}/metrics")


def worker(
    concurrency: Annotated[int, typer.Option(help="Runs at once in this process")] = 4,
    enqueue: Annotated[bool, typer.Option(help="Also queue due jobs (safe on every worker)")] = True,
    poll: Annotated[float, typer.Option(help="Seconds between looks for due jobs")] = 0.5,
    heartbeat: Annotated[float, typer.Option(help="Seconds between worker heartbeats")] = 10.0,
    stalled_after: Annotated[
        float, typer.Option(help="A worker silent this long is dead; its runs are retried")
    ] = 30.0,
    metrics_port: MetricsPort = None,
    metrics_address: MetricsAddress = "127.0.0.1",
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Run jobs from the PostgreSQL queue (start any number, on any machine)."""
    from . import distributed

    _logging()
    context = _context(data_dir, database_url)
    distributed.dsn_of(context)  # fails early and clearly on SQLite
    _serve_metrics(metrics_port, metrics_address)
    console.print(f"worker: {concurrency} concurrent runs{', enqueuing due jobs' if enqueue else ''}")
    asyncio.run(
        distributed.run_worker(
            context,
            concurrency=concurrency,
            enqueue=enqueue,
            poll=poll,
            heartbeat=heartbeat,
            stalled_after=stalled_after,
        )
    )


def scheduler(
    enqueue_only: Annotated[
        bool, typer.Option("--enqueue-only", help="Only queue due jobs for workers (PostgreSQL)")
    ] = False,
    threads: Annotated[int, typer.Option(help="Runs at once (without --enqueue-only)")] = 4,
    poll: Annotated[float, typer.Option(help="Seconds between looks for due jobs")] = 0.5,
    metrics_port: MetricsPort = None,
    metrics_address: MetricsAddress = "127.0.0.1",
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Run the scheduler on its own: runs due jobs here, or with --enqueue-only queues them for workers."""
    _logging()
    context = _context(data_dir, database_url)
    _serve_metrics(metrics_port, metrics_address)
    if enqueue_only:
        from . import distributed

        asyncio.run(distributed.run_enqueuer(context, poll=poll))
        return
    from .scheduler import Scheduler

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    running = Scheduler(context, workers=threads, poll=poll).start()
    console.print(f"scheduler: {threads} threads")
    done.wait()
    running.stop()


def register(app: typer.Typer) -> None:
    """Add the job commands to the ``openconnector`` app."""
    sync_app = _group(app, "sync", "Synchronisations.")
    sync_app.command("schedule")(sync_schedule)
    job_app = _group(app, "job", "Jobs: scheduled actions and their logs.")
    job_app.command("list")(job_list)
    job_app.command("run")(job_run)
    job_app.command("logs")(job_logs)
    app.command("worker")(worker)
    app.command("scheduler")(scheduler)
