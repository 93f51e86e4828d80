"""Fixtures for driving our server with the official durable-workflow 2.12.0 SDK."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import REPO, ServerProcess

OFFICIAL_VERSION = "2.12.0"
VENV = REPO / ".interop-venv"


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _installed() -> bool:
    if not _venv_python().exists():
        return False
    probe = subprocess.run(
        [str(_venv_python()), "-c", "import durable_workflow, sys; sys.stdout.write(durable_workflow.__version__)"],
        capture_output=True, text=True,
    )
    return probe.returncode == 0 and probe.stdout.strip() == OFFICIAL_VERSION


def _install() -> None:
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(_venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # 2.12.0 pins a certifi newer than the registry may serve; install it without
    # dependencies and add what it imports (the documented workaround).
    subprocess.run([*pip, "--no-deps", f"durable-workflow=={OFFICIAL_VERSION}"], check=True)
    subprocess.run([*pip, "httpx", "fastavro>=1.12.2,<2", "certifi"], check=True)


@pytest.fixture(scope="session")
def official_python() -> Path:
    """The interpreter of a separate venv holding the official SDK (built once, then reused)."""
    if not _installed():
        _install()
    assert _installed(), "official durable-workflow SDK did not install"
    return _venv_python()


@pytest.fixture(scope="module")
def interop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("interop")
    server = ServerProcess(db_url=f"sqlite:///{tmp / 'interop.db'}", log_path=tmp / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
