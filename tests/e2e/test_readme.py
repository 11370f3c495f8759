"""The README's Python example runs as written (issue 12, point 6).

The block is taken from README.md as it is and run in a fresh interpreter, in a
data directory made by ``openconnector init woo`` as the README says; only the
Pet Store's address is pointed at the local stand-in (tests never reach the internet).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"
PETSTORE = "https://petstore3.swagger.io/api/v3"


def python_block() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1, "the README has one Python example"
    return blocks[0]


def test_the_readme_python_block_has_nothing_to_guess() -> None:
    code = python_block()
    assert "..." not in code and "<" not in code.replace("<=", "")
    assert PETSTORE in code


def test_the_readme_python_block_runs_and_synchronises_the_pets(tmp_path: Path, fake_api: Any) -> None:
    env = {
        **os.environ,
        "OPENCONNECTOR_DATA_DIR": str(tmp_path / "data"),
        "OPENCONNECTOR_SECRET_KEY": "readme-test-secret",
        "PYTHONPATH": os.pathsep.join([str(README.parent / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("OPENCONNECTOR_DATABASE_URL", None)
    init = subprocess.run(
        [sys.executable, "-c", "from openconnector.cli import main; main()", "init", "woo"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    code = python_block().replace(PETSTORE, fake_api.url + "/api/v3")
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    mapped, outcome = run.stdout.strip().splitlines()[-2:]
    assert "'title': 'Bella'" in mapped and "'category': 'Dogs'" in mapped
    assert outcome.startswith("success {'found': 8") and "'created': 8" in outcome
