"""Twig's own fixtures (tests/data/twig-conformance/cases.jsonl, BSD-3-Clause, see its README) rendered by our engine.

Run ``pytest tests/twig/test_conformance.py -s`` to see the pass rate per folder
and the ids of failing cases.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from openconnector import twig

CASES = Path(
    os.environ.get(
        "TWIG_CONFORMANCE",
        str(Path(__file__).resolve().parents[1] / "data" / "twig-conformance" / "cases.jsonl"),
    )
)
OUTPUT_TARGET = 0.95


def load_cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]


def make_env(config: dict[str, Any]) -> twig.Environment:
    options: dict[str, Any] = {
        "strict_variables": config.get("strict_variables", True),
        "autoescape": config.get("autoescape", "html"),
        "timezone": config.get("timezone", "UTC"),
    }
    if "date_format" in config:
        options["date_format"] = config["date_format"]
    if "number_format" in config:
        options["number_format"] = config["number_format"]
    env = twig.Environment(**options)
    env.add_global("global", "global")
    return env


def message_matches(expected: str, actual: str) -> bool:
    """Twig's expected messages may hold PHPUnit placeholders (%s, %d)."""
    rx = re.escape(expected).replace("%s", ".*?").replace("%d", r"-?\d+")
    return re.fullmatch(rx, actual, re.S) is not None


def run_case(case: dict[str, Any]) -> tuple[bool, str]:
    """Render one case; returns (passed, detail)."""
    source = case["templates"]["index.twig"]
    env = make_env(case["config"])
    if "exception" in case:
        cls_name, _, message = case["exception"].partition(": ")
        cls_name = cls_name.rsplit("\\", 1)[-1]
        try:
            out = env.from_string(source, "index.twig").render(case["data"])
        except twig.Error as e:
            if type(e).__name__ != cls_name:
                return False, f"raised {type(e).__name__}: {e}, expected {cls_name}"
            if not message_matches(message, str(e)):
                return True, f"(class ok, message differs) {e!s} != {message}"
            return True, ""
        except Exception as e:  # noqa: BLE001 - a foreign error is a failure
            return False, f"foreign {type(e).__name__}: {e}"
        return False, f"no error; rendered {out!r}"
    try:
        out = env.from_string(source, "index.twig").render(case["data"])
    except Exception as e:  # noqa: BLE001
        return False, f"{type(e).__name__}: {e}"
    got = out.strip("\n ")
    if got == case["expect"]:
        return True, ""
    return False, f"expected {case['expect']!r}\n     got {got!r}"


def test_conformance_pass_rate() -> None:
    cases = load_cases()
    per_folder: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures: list[str] = []
    message_diffs: list[str] = []
    out_total = out_pass = err_total = err_pass = 0
    for case in cases:
        ok, detail = run_case(case)
        per_folder[case["folder"]][1] += 1
        if ok:
            per_folder[case["folder"]][0] += 1
            if detail:
                message_diffs.append(f"{case['id']}: {detail}")
        else:
            failures.append(f"{case['id']}: {detail}")
        if "exception" in case:
            err_total += 1
            err_pass += ok
        else:
            out_total += 1
            out_pass += ok
    print()
    for folder, (p, t) in sorted(per_folder.items()):
        print(f"  {folder:12s} {p:3d}/{t:3d}  {100 * p / t:5.1f}%")
    print(f"  output cases: {out_pass}/{out_total} ({100 * out_pass / out_total:.1f}%)")
    print(f"  error cases:  {err_pass}/{err_total} with the right class")
    for f in failures:
        print("  FAIL", f)
    for m in message_diffs:
        print("  NOTE", m)
    assert out_pass / out_total >= OUTPUT_TARGET
    assert err_pass == err_total


@pytest.mark.parametrize("case", load_cases(), ids=lambda c: c["id"])
def test_case(case: dict[str, Any]) -> None:
    ok, detail = run_case(case)
    if not ok:
        pytest.xfail(detail) if case["id"] in KNOWN_FAILURES else pytest.fail(detail)


# Cases we knowingly do not pass (documented in the report / docs/twig.md).
KNOWN_FAILURES: set[str] = set()
