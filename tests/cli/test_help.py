"""``--help`` reads like a Unix command's: flags as flags, arguments by name, every command.

Walks the whole command tree, so a new command or a Typer upgrade that brings back
``--test <bool>`` or ``{synchronization}`` fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from openconnector.cli import _load_extensions, app

runner = CliRunner()
_load_extensions()


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(getattr(group, "commands", None), dict):  # a group (Typer's own click)
        for name, command in group.commands.items():
            yield from _commands(command, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_the_tree_has_the_crud_commands() -> None:
    for kind in ("source", "mapping", "sync"):
        for verb in ("list", "show", "create", "update", "delete"):
            assert (kind, verb) in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "openconnector")
def test_help_shows_flags_as_flags_and_arguments_by_name(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage
    panel = result.output.split("Usage:")[1].split("\n", 1)[1]
    for argument in set(re.findall(r"[A-Z][A-Z_]+", usage.split("[OPTIONS]")[-1])) - {"COMMAND", "ARGS"}:
        assert argument in panel, f"{argument} is not explained under Arguments"


def test_sync_run_help_names_its_argument_and_flags() -> None:
    result = runner.invoke(app, ["sync", "run", "--help"], env={"COLUMNS": "160"})
    assert "sync run [OPTIONS] SYNCHRONIZATION" in result.output
    line = next(line for line in result.output.splitlines() if "--test" in line)
    assert re.search(r"--test\s+Dry run", line), line
