"""Mutation testing of the core, one module at a time (docs/testing.md).

    python .ci/mutation.py contracts               # both passes (or resume them) for one module
    python .ci/mutation.py contracts --summary     # its figures and survivors, without running
    python .ci/mutation.py contracts NAME...       # these mutants again (after adding a test)
    python .ci/mutation.py contracts --children 1  # fewer parallel mutants on a busy machine

Why per module: mutmut 3 runs, for every mutant, the selected tests that reach the
mutated function. With one selection for all the core modules, its first step (running
every selected test once, traced) and every mutant of a widely called function pull in
the slow tests of the other modules, and a run of the whole core does not fit on a
shared two-core machine. Here every module gets its own scratch directory
(``.mutation/<module>/``, ignored by git), a copy of ``src/`` and ``tests/``, and a
``[tool.mutmut]`` of its own: that module only and the focused tests that exercise it.

Two passes. The first runs every mutant against the module's fast tests on SQLite
(``-m "not postgres"``). The second runs only the first pass's survivors (and mutants
no fast test reached) again, in ``.mutation/<module>.second/``, against what the first
did not run: the fast tests' PostgreSQL variants and the module's slower tests on both
databases. Code only PostgreSQL takes (its SQL, its parameter markers) is killed there.
A mutant counts as detected when either pass killed it (or timed it out). Results are
kept between runs; a re-run checks again what changed, what was never checked, and the
mutants named.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Module:
    """One module under mutation: its file, the tests that exercise it, and the part of
    it in scope: mutmut's names of functions and methods (``x_name``, ``xǁClassǁname``,
    fnmatch patterns); empty is the whole module."""

    path: str
    tests: tuple[str, ...]
    scope: tuple[str, ...] = ()
    #: run in the second pass only, on both databases
    slow_tests: tuple[str, ...] = ()
    #: whether the second pass runs the fast tests' PostgreSQL variants (off where the code
    #: in scope takes no database-specific branch: they would only double its time)
    postgres: bool = True


SYNC = "openconnector.connector.sync."
TWIG = "openconnector.twig.runtime."

MODULES: dict[str, Module] = {
    "contracts": Module(
        "src/openconnector/connector/contracts.py",
        (
            "tests/connector/test_contracts.py",
            "tests/connector/test_contracts_api.py",
            "tests/connector/test_sync_promises.py",
            "tests/connector/test_sync.py",
        ),
    ),
    "secrets": Module(
        "src/openconnector/store/secrets.py",
        ("tests/store/test_secrets.py",),
        slow_tests=("tests/security/test_secret_fields.py",),
    ),
    # the publication rule: which objects are public, and from when
    "catalog": Module(
        "src/openconnector/catalog/service.py",
        ("tests/catalog/test_publication_rule.py",),
        scope=("openconnector.catalog.service.xǁCatalogServiceǁvisible",),
        slow_tests=("tests/catalog/test_public_api.py",),
    ),
    # the sandbox: limits (loops, ranges, output, time), callables, and item and attribute lookup
    "twig": Module(
        "src/openconnector/twig/runtime.py",
        (
            "tests/twig/test_sandbox.py",
            "tests/twig/test_lookup.py",
            "tests/twig/test_environment.py",
            "tests/twig/test_filters.py",
            "tests/twig/test_conformance.py",
        ),
        slow_tests=("tests/twig/test_dates.py", "tests/security/test_work_limits.py"),
        scope=tuple(
            TWIG + p
            for p in (
                "xǁStateǁ*",
                "xǁArrowǁ*",
                "x_concat",
                "x_output_limit",
                "x_make_range",
                "x_check_arrow",
                "x__lookup",
                "x_get_attr_soft",
                "x__date_attr",
                "x_time_limit",
            )
        ),
    ),
    # a run's rules: completeness and deletes, duplicates, the unchanged-page skip, test mode
    # (``_prepare``, the per-record hash comparison, is left out: 226 more mutants of the slowest tests)
    "sync": Module(
        "src/openconnector/connector/sync.py",
        (
            "tests/connector/test_sync_promises.py",
            "tests/connector/test_sync.py",
            "tests/connector/test_run_status.py",
        ),
        # detail calls, runs on records an endpoint received (the ``synchronization`` rule),
        # file sources (read from the data directory) and documents fetched with the records
        slow_tests=(
            "tests/connector/test_extra_data.py",
            "tests/e2e/test_endpoints_api.py",
            "tests/connector/test_files.py",
            "tests/connector/test_fetched_files.py",
            "tests/connector/test_run_messages.py",
        ),
        # the runs' SQL is in contracts.py and store/; in scope here, PostgreSQL differs only
        # in when statistics are refreshed (``_analyze``), which no result shows
        postgres=False,
        scope=tuple(
            SYNC + p
            for p in (
                "xǁSynchronizationServiceǁ_run",
                "xǁSynchronizationServiceǁ_page",
                "xǁSynchronizationServiceǁ_delete_vanished",
                "xǁRunǁinvalid",
                "xǁRunǁnothing_valid",
                "x__origin_text",
            )
        ),
    ),
    "outbox": Module(
        "src/openconnector/connector/outbox.py",
        (
            "tests/connector/test_outbox_queue.py",
            "tests/connector/test_push.py",
            "tests/api/test_events.py",
            "tests/cli/test_outbox_commands.py",
        ),
        slow_tests=("tests/connector/test_push_crash.py",),
    ),
    # the outbox's deliverer: claims, order per object, retries and backoff, parking
    "delivery": Module(
        "src/openconnector/connector/delivery.py",
        (
            "tests/connector/test_outbox_queue.py",
            "tests/connector/test_push.py",
            "tests/api/test_events.py",
        ),
        slow_tests=("tests/connector/test_push_crash.py", "tests/cli/test_outbox_commands.py"),
        # not the thread and LISTEN plumbing (start, stop, _loop, _listen): what a pass does
        scope=tuple(
            "openconnector.connector.delivery.xǁOutboxDelivererǁ" + p
            for p in (
                "due",
                "claim",
                "deliver_due",
                "_still_mine",
                "_plan",
                "_deliver",
                "_notify",
                "_failed_by",
                "_done",
                "_failed",
            )
        ),
    ),
    # all three test files are fast (seconds), so all run in the first pass
    "rules": Module(
        "src/openconnector/connector/rules.py",
        (
            "tests/connector/test_rules.py",
            "tests/connector/test_endpoints.py",
            "tests/e2e/test_endpoints_api.py",
        ),
    ),
}


def _toml_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def _second_pass_tests(module: Module) -> str:
    """The second pass's ``-k``: what the first did not run, the PostgreSQL variants of the
    fast tests (the ``postgres`` marker) and every test of the slow files (by file name)."""
    names = [Path(test).name for test in module.slow_tests]
    return " or ".join(["postgres", *names] if module.postgres else names)


def prepare(work: Path, module: Module, second: bool) -> Path:
    """A pass's scratch directory with a fresh copy of the code and the tests."""
    work.mkdir(parents=True, exist_ok=True)
    for part in ("src", "tests"):
        subprocess.run(
            ["rsync", "-a", "--delete", "--exclude", "__pycache__", f"{ROOT / part}/", f"{work / part}/"],
            check=True,
        )
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)  # the whole-core section
    text += (
        "\n[tool.mutmut]\n"
        'source_paths = ["src/"]\n'
        f"only_mutate = {_toml_list([module.path])}\n"
        # pytest-timeout is off: mutmut times mutants itself
        "pytest_add_cli_args = "
        + _toml_list(
            ["-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:timeout", "-q"]
            + (["-k", _second_pass_tests(module)] if second else [])
            + ([] if second and module.postgres else ["-m", "not postgres"])
        )
        + "\n"
        "pytest_add_cli_args_test_selection = "
        + _toml_list(module.tests + module.slow_tests if second else module.tests)
        + "\n"
        # mutmut stops a mutant after (its tests' time + 30 s) x 4 of wall time (and twice that
        # in CPU time): generous, because on a loaded machine a surviving mutant's tests can take
        # twice their measured time, and a "timeout" counts as detected
        "timeout_multiplier = 4.0\n"
        "timeout_constant = 30.0\n"
    )
    (work / "pyproject.toml").write_text(text, encoding="utf-8")
    return work


def statuses(work: Path, module: Module) -> dict[str, str]:
    """Every mutant in scope and its status, as ``mutmut results --all`` reports them."""
    out = subprocess.run(
        ["mutmut", "results", "--all", "true"], cwd=work, capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in out.splitlines():
        mutant, _, status = line.strip().rpartition(": ")
        if mutant and (
            not module.scope or any(fnmatch.fnmatch(mutant, p + "__mutmut_*") for p in module.scope)
        ):
            found[mutant] = status
    return found


DETECTED = ("killed", "timeout")


def summary(name: str, module: Module) -> dict[str, object]:
    """Figures of both passes: a mutant's status is the second pass's when the first did
    not detect it and the second checked it."""
    found = statuses(ROOT / ".mutation" / name, module)
    second_dir = ROOT / ".mutation" / f"{name}.second"
    second = statuses(second_dir, module) if (second_dir / "mutants").exists() else {}
    final = {}
    for mutant, status in found.items():
        again = second.get(mutant, "not checked")
        final[mutant] = again if status not in DETECTED and again != "not checked" else status
    counts = {s: sum(1 for v in final.values() if v == s) for s in sorted(set(final.values()))}
    detected = counts.get("killed", 0) + counts.get("timeout", 0)
    checked = len(final) - counts.get("not checked", 0)
    result: dict[str, object] = {
        "module": name,
        "mutants": len(final),
        **counts,
        "killed_in_second_pass": sum(
            1 for m, s in found.items() if s not in DETECTED and second.get(m) in DETECTED
        ),
        "detected_of_checked": round(100 * detected / checked, 1) if checked else None,
    }
    for mutant in sorted(m for m, s in final.items() if s not in DETECTED):
        print(f"{final[mutant]:>12}  {mutant}")
    print(json.dumps(result, ensure_ascii=False))
    return result


def run_pass(name: str, module: Module, second: bool, patterns: list[str], children: int) -> None:
    work = prepare(ROOT / ".mutation" / (f"{name}.second" if second else name), module, second)
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # no skip-to-failure in mutants' runs
    # The mutated copy, also for the worker processes some tests start. The directory must
    # exist before mutmut starts: Python skips a path entry that did not exist at start-up,
    # and the tests would then import the installed package and reach no mutant at all.
    (work / "mutants" / "src").mkdir(parents=True, exist_ok=True)
    env["PYTHONPATH"] = str(work / "mutants" / "src")
    command = ["nice", "-n", "10", "mutmut", "run", "--max-children", str(children)]
    subprocess.run([*command, *patterns], cwd=work, env=env, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("module", choices=sorted(MODULES))
    parser.add_argument("mutants", nargs="*", help="only these mutants (mutmut names), checked again")
    parser.add_argument("--children", type=int, default=2, help="mutants checked in parallel (default 2)")
    parser.add_argument("--summary", action="store_true", help="print the figures without running")
    parser.add_argument("--first-pass-only", action="store_true", help="leave the survivors for later")
    parser.add_argument(
        "--second-pass-only",
        action="store_true",
        help="the second pass alone (on the mutants named, or every survivor)",
    )
    args = parser.parse_intermixed_args()
    if shutil.which("mutmut") is None:
        print("error: mutmut is not installed (pip install -e '.[dev]')", file=sys.stderr)
        return 2
    name, module = args.module, MODULES[args.module]
    if not args.summary:
        if not args.second_pass_only:
            # mutmut matches these patterns against function names too (to pick the tests): no "__mutmut_"
            run_pass(name, module, False, args.mutants or [p + "*" for p in module.scope], args.children)
        if not args.first_pass_only:
            first = statuses(ROOT / ".mutation" / name, module)
            again = sorted(m for m, s in first.items() if s in ("survived", "no tests"))
            if args.second_pass_only and args.mutants:
                again = args.mutants
            if again:
                run_pass(name, module, True, again, args.children)
    summary(name, module)
    return 0


if __name__ == "__main__":
    sys.exit(main())
