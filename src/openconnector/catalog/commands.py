"""CLI commands of the catalog: ``init woo`` and ``catalog list|create|show``.

Each is a thin call to :class:`~openconnector.catalog.service.CatalogService` or
:func:`~openconnector.catalog.woo.install_woo`, the same code the REST API runs.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..cli import DataDir, DbUrl, context_from

console = Console()
init_app = typer.Typer(help="Ready-made starting points.", no_args_is_help=True)
catalog_app = typer.Typer(
    help="Public catalogs: what the anonymous API and the DCAT feed publish.", no_args_is_help=True
)


@init_app.command("woo")
def init_woo(
    json_output: Annotated[bool, typer.Option("--json", help="Print what was done as JSON")] = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Create the DCAT register, its Dataset schema and the `publications` catalog (idempotent)."""
    from .woo import install_woo

    report = install_woo(context_from(data_dir, database_url))
    if json_output:
        sys.stdout.write(json.dumps(report) + "\n")
        return
    names = {
        "register": "register dcat (DCAT register)",
        "schema": "schema dataset (Dataset)",
        "catalog": "catalog publications (DCAT feed on)",
    }
    for part, state in report.items():
        colour = "green" if state != "exists" else "dim"
        console.print(f"[{colour}]{state:>8}[/{colour}]  {names[part]}", highlight=False)
    console.print(
        "Public API: /index.php/apps/opencatalogi/api/publications  "
        "feed: /index.php/apps/opencatalogi/api/catalogs/publications/dcat",
        highlight=False,
    )


@catalog_app.command("list")
def catalog_list(
    json_output: Annotated[bool, typer.Option("--json", help="Print the catalogs as JSON")] = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """List the catalogs with their registers, schemas and whether they have a DCAT feed."""
    from .service import CatalogService

    found = CatalogService(context_from(data_dir, database_url)).list()
    if json_output:
        sys.stdout.write(json.dumps(found, indent=2, default=str) + "\n")
        return
    table = Table()
    for column in ("slug", "title", "registers", "schemas", "dcat", "stored"):
        table.add_column(column)
    for c in found:
        table.add_row(
            c["slug"],
            c.get("title") or "",
            ",".join(map(str, c.get("registers") or [])),
            ",".join(map(str, c.get("schemas") or [])),
            "yes" if c.get("hasDcat") else "no",
            "no (default)" if c.get("id") is None else "yes",
        )
    console.print(table)


@catalog_app.command("show")
def catalog_show(
    catalog: Annotated[str, typer.Argument(help="Slug, uuid or id")],
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Print one catalog as JSON."""
    from .service import CatalogService

    found = CatalogService(context_from(data_dir, database_url)).get(catalog)
    sys.stdout.write(json.dumps(found, indent=2, ensure_ascii=False, default=str) + "\n")


def _theme_map(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        category, sep, theme = item.partition("=")
        if not sep or not category.strip() or not theme.strip():
            raise typer.BadParameter(
                f"{item!r} is not CATEGORY=THEME (e.g. Dogs=AGRI)", param_hint="--theme-map"
            )
        mapping[category.strip()] = theme.strip()
    return mapping


@catalog_app.command("create")
def catalog_create(
    title: Annotated[str, typer.Option(help="Title shown to the public")],
    slug: Annotated[str | None, typer.Option(help="URL name (default: from the title)")] = None,
    description: Annotated[str | None, typer.Option(help="Description")] = None,
    register: Annotated[
        list[str] | None, typer.Option("--register", help="Register id/slug (repeatable)")
    ] = None,
    schema: Annotated[list[str] | None, typer.Option("--schema", help="Schema id/slug (repeatable)")] = None,
    publisher: Annotated[str | None, typer.Option(help="Publishing organisation's name")] = None,
    publisher_uri: Annotated[str | None, typer.Option("--publisher-uri", help="Its TOOI/OIN URI")] = None,
    contact_email: Annotated[str | None, typer.Option("--contact-email", help="Contact point e-mail")] = None,
    license: Annotated[str | None, typer.Option(help="Licence URI (default CC0 1.0)")] = None,
    homepage: Annotated[str | None, typer.Option(help="Homepage URL")] = None,
    default_theme: Annotated[
        str | None, typer.Option("--default-theme", help="EU theme code, e.g. GOVE")
    ] = None,
    theme_map: Annotated[
        list[str] | None, typer.Option("--theme-map", help="CATEGORY=THEME (repeatable)")
    ] = None,
    dcat: Annotated[bool, typer.Option("--dcat/--no-dcat", help="Serve a DCAT-AP-NL feed")] = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Create a catalog over registers and schemas."""
    from .service import CatalogService

    data: dict[str, Any] = {
        "title": title,
        "slug": slug,
        "description": description,
        "registers": register or [],
        "schemas": schema or [],
        "publisher": publisher,
        "publisherUri": publisher_uri,
        "license": license,
        "homepage": homepage,
        "defaultTheme": default_theme,
        "hasDcat": dcat,
    }
    if contact_email:
        data["contactPoint"] = {"email": contact_email}
    if theme_map:
        data["themeMapping"] = _theme_map(theme_map)
    created = CatalogService(context_from(data_dir, database_url)).create(
        {k: v for k, v in data.items() if v is not None}
    )
    console.print(
        f"catalog [bold]{created['slug']}[/bold] created ({created['id']}): "
        f"/index.php/apps/opencatalogi/api/{created['slug']}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(init_app, name="init")
    app.add_typer(catalog_app, name="catalog")
