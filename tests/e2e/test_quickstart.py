"""The seed quickstart runs unchanged against `dw server start` and, with only the Client
argument changed, embedded; both print the greeting."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO, ServerProcess, child_env

pytestmark = pytest.mark.e2e
EXPECTED = "{'greeting': 'Hello, world!', 'length': 5}"


def _run(script: Path, cwd: Path) -> str:
    done = subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=child_env())
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_quickstart_against_dw_server_start(tmp_path: Path) -> None:
    # The documented program connects to localhost:8080 verbatim, so the server takes that port.
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8080)) == 0:
            pytest.fail("port 8080 is taken; the unchanged quickstart needs it")
    server = ServerProcess(db_url=f"sqlite:///{tmp_path / 'qs.db'}", token="dev-token", port=8080,
                           log_path=tmp_path / "server.log").start()
    try:
        out = _run(REPO / "examples" / "quickstart.py", tmp_path)
    finally:
        server.stop()
    assert out.strip().splitlines()[-1] == EXPECTED


def test_quickstart_embedded(tmp_path: Path) -> None:
    out = _run(REPO / "examples" / "quickstart_embedded.py", tmp_path)
    assert out.strip().splitlines()[-1] == EXPECTED
    assert (tmp_path / "quickstart.db").exists()


def test_only_the_client_argument_differs() -> None:
    served = (REPO / "examples" / "quickstart.py").read_text().splitlines()
    embedded = (REPO / "examples" / "quickstart_embedded.py").read_text().splitlines()
    code_diff = [(a, b) for a, b in zip(served, embedded, strict=True) if a != b and not a.startswith("#")]
    assert len(code_diff) == 1 and "Client(" in code_diff[0][0] and "sqlite:///" in code_diff[0][1]
