"""The ``openconnector`` command: serve, migrate, manage users, run and test the connector.

Each command is a thin call into the same services the REST API and the Python
API use; library errors print their message and exit 1.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from .errors import BadRequest, OpenConnectorError
from .store.settings import Settings


def _plain_help() -> None:
    """Help that reads like a Unix command's: ``--test`` as a flag, ``SYNC`` as an argument.

    Typer 0.2x prints ``<bool>`` after every flag (``--test <bool>`` reads as if it took a
    value) and ``{name}`` for arguments in the usage line. Flags get no type column and
    arguments show in capitals, as click and most CLIs do. ``tests/cli/test_help.py``
    notices when a Typer upgrade changes this again.
    """
    from typer import core

    option_type = core.TyperOption.display_type_rich

    def display_type_rich(self: core.TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else option_type(self, ctx)

    def display_name(self: core.TyperArgument) -> str:
        return self.metavar or (self.name or "").upper()

    def usage_name(self: core.TyperArgument) -> str:
        name = display_name(self) + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"

    if hasattr(core.TyperOption, "display_type_rich"):
        core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    if hasattr(core.TyperArgument, "display_name_raw"):
        core.TyperArgument.display_name_raw = property(display_name)  # type: ignore[assignment,method-assign]
    if hasattr(core.TyperArgument, "_usage_display_name"):
        core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]


_plain_help()

app = typer.Typer(
    help="openconnector: pull external APIs into registers, keep them current, publish them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
user_app = typer.Typer(help="Users who may log in.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")

console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", metavar="DIR", help="Data directory (env OPENCONNECTOR_DATA_DIR)")
]
DbUrl = Annotated[
    str | None,
    typer.Option("--database-url", metavar="URL", help="Database URL (env OPENCONNECTOR_DATABASE_URL)"),
]


def settings_from(data_dir: Path | None = None, database_url: str | None = None, **more: Any) -> Settings:
    return Settings.from_env(data_dir=data_dir, database_url=database_url, **more)


def context_from(data_dir: Path | None, database_url: str | None) -> Any:
    from .context import Context, set_context

    context = Context(settings_from(data_dir, database_url))
    set_context(context)
    return context


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (env OPENCONNECTOR_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env OPENCONNECTOR_PORT, default 8080)")] = None,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Only serve; workers run the jobs")
    ] = False,
) -> None:
    """Run the HTTP service (REST API, UI, public catalog) and the scheduler."""
    from .api.app import create_app
    from .context import Context

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = settings_from(data_dir, database_url, host=host, port=port)
    if no_scheduler:
        from dataclasses import replace

        settings = replace(settings, scheduler=False)
    context = Context(settings)
    application = create_app(context)
    from .connector.sync import recover_dead_runs

    recover_dead_runs(context)  # a run this service was doing when it was killed: interrupted
    console.print(
        f"openconnector on http://{settings.host}:{settings.port} "
        f"({'SQLite ' + str(settings.data_dir) if settings.is_sqlite else 'PostgreSQL'})"
    )
    from .api.server import serve as serve_app

    serve_app(application, settings.host, settings.port)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Apply all database migrations (also done on every start)."""
    from .context import Context

    Context(settings_from(data_dir, database_url))
    console.print("database is up to date")


@user_app.command("add")
def user_add(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Add a user who can log in to the API and the UI."""
    from .store.users import UserService

    context = context_from(data_dir, database_url)
    UserService(context.db).add(username, password)
    console.print(f"user {username} added")


@user_app.command("passwd")
def user_passwd(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Change a user's password."""
    from .store.users import UserService

    context = context_from(data_dir, database_url)
    UserService(context.db).set_password(username, password)
    console.print(f"password of {username} changed (their open sessions were ended)")


@user_app.command("remove")
def user_remove(username: str, data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Remove a user; their logins and open UI sessions stop working at once."""
    from .store.users import UserService

    context = context_from(data_dir, database_url)
    UserService(context.db).remove(username)
    console.print(f"user {username} removed")


@user_app.command("sessions")
def user_sessions(
    username: Annotated[str | None, typer.Argument(help="Only this user's sessions")] = None,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """List open UI sessions (id, user, address, created, last seen, expires)."""
    from rich.table import Table

    from .store.sessions import SessionStore

    context = context_from(data_dir, database_url)
    table = Table("id", "user", "address", "created", "last seen", "expires", "browser")
    for s in SessionStore(context.db).list(username):
        table.add_row(
            str(s["id"]),
            s["user"],
            s["address"] or "",
            s["created"],
            s["lastSeen"],
            s["expires"],
            (s["userAgent"] or "")[:40],
        )
    console.print(table)


@user_app.command("revoke")
def user_revoke(
    session: Annotated[str | None, typer.Argument(help="A session id from `user sessions`")] = None,
    all_of: Annotated[str | None, typer.Option("--all", help="End every session of this user")] = None,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """End a UI session (or all of a user's): its cookie is refused from the next request on."""
    from .store.sessions import SessionStore

    if (session is None) == (all_of is None):
        raise BadRequest("Give a session id or --all USER")
    store = SessionStore(context_from(data_dir, database_url).db)
    if all_of is not None:
        console.print(f"{store.end_all(all_of)} session(s) of {all_of} ended")
    else:
        ended = store.revoke(session)
        console.print(f"session {ended['id']} of {ended['user']} ended")


def _load_extensions() -> None:
    """Commands contributed by feature packages (connector, jobs, catalog)."""
    import importlib

    for name in (
        "openconnector.connector.commands",
        "openconnector.jobs.commands",
        "openconnector.catalog.commands",
        "openconnector.files.commands",
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)


def main() -> None:
    from .connector.redaction import install_log_redaction

    install_log_redaction()
    _load_extensions()
    try:
        app()
    except OpenConnectorError as exc:
        err.print(f"[red]Error:[/red] {exc.message}")
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
