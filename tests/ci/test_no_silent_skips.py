"""Under CI a test that cannot run fails: the browser tests without chromium, for one.

The hook is in tests/conftest.py; here it is exercised as CI would meet it, by running
pytest in a child process with chromium taken off PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BROWSER_TEST = "tests/e2e/test_ui_tutorial.py::test_the_login_form_and_the_navigation_work_by_keyboard_alone"


def run_without_chromium(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """pytest on one browser test, with a PATH that holds python but no chromium."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "CHROMIUM")}
    env["PATH"] = str(bin_dir)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", BROWSER_TEST, "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_without_chromium_the_browser_test_fails_under_ci_and_skips_elsewhere(tmp_path: Path) -> None:
    assert shutil.which("chromium", path=str(tmp_path)) is None
    under_ci = run_without_chromium(tmp_path, "true")
    assert under_ci.returncode == 1, under_ci.stdout + under_ci.stderr
    assert "skipped under CI" in under_ci.stdout
    assert "chromium" in under_ci.stdout
    assert "1 error" in under_ci.stdout  # a skip in setup becomes a setup error

    shutil.rmtree(tmp_path / "bin")
    locally = run_without_chromium(tmp_path, None)
    assert locally.returncode == 0, locally.stdout + locally.stderr
    assert "1 skipped" in locally.stdout
