"""`dw server start` refuses bad configuration with a clear message and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.support.processes import REPO, ServerProcess, child_env, free_port

pytestmark = pytest.mark.e2e


def _start(db_url: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "durable_workflow.cli.main", "server", "start", "--db", db_url,
            "--port", str(free_port()), "--log-level", "warning"]
    return subprocess.run(args, capture_output=True, text=True, cwd=REPO, env=child_env(),
                          timeout=60)


@pytest.mark.postgres
@pytest.mark.parametrize(("url", "message"), [
    ("postgresql://postgres@127.0.0.1:1/test", "cannot connect to PostgreSQL"),
    ("postgresql://no_such_role@127.0.0.1:5432/test", 'role "no_such_role" does not exist'),
    ("postgresql://postgres:secret@127.0.0.1:5432/no_such_db_here", "does not exist"),
])
def test_unusable_postgres_url_exits_nonzero(url: str, message: str) -> None:
    result = _start(url)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "secret" not in result.stderr  # passwords never reach the terminal


def test_unknown_scheme_exits_nonzero() -> None:
    result = _start("mysql://user:pw@host/db")
    assert result.returncode == 2
    assert "unsupported database URL scheme 'mysql'" in result.stderr and "pw@" not in result.stderr


@pytest.mark.postgres
def test_postgres_schema_newer_than_the_code_exits_nonzero(pg_fresh_url: str) -> None:
    ServerProcess(db_url=pg_fresh_url).start().stop()  # migrate it
    with psycopg.connect(pg_fresh_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = 999")
    result = _start(pg_fresh_url)
    assert result.returncode == 2
    assert "has schema version 999" in result.stderr and "upgrade durable-workflow" in result.stderr


def test_second_server_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'one.db'}"
    first = ServerProcess(db_url=db).start()
    try:
        assert first.proc is not None
        result = _start(db)
        assert result.returncode == 2
        assert f"is already served by process {first.proc.pid}" in result.stderr
        first.kill()  # the kernel drops the lock with the process: a restart just works
        first.start()
    finally:
        first.stop()
