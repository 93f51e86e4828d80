"""Seed 000 promises the SDK passes ``mypy --strict``: check it, and that typed user code does too.

pyproject's ``[tool.mypy]`` (strict, ``src/durable_workflow`` minus ``server/`` and ``cli/``) is
what runs; the cache lives in a temporary directory so a stale cache cannot hide an error.
Cold, the two runs take about 10 s together, so they stay out of the e2e set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.processes import REPO


def mypy(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MYPYPATH=str(REPO / "src"))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "--no-error-summary", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )


def test_sdk_passes_mypy_strict(tmp_path: Path) -> None:
    done = mypy(cache=tmp_path / "cache")
    assert done.returncode == 0, f"mypy --strict (pyproject config) failed:\n{done.stdout}{done.stderr}"

    # An application written against the SDK (the order example) type-checks strictly as well.
    done = mypy("--strict", "examples/order_processing", cache=tmp_path / "cache")
    assert done.returncode == 0, f"mypy --strict examples/order_processing:\n{done.stdout}{done.stderr}"
