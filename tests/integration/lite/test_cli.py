"""``dw lite list`` and ``dw lite show`` over a database the lite API wrote."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from durable_workflow.cli.main import main
from durable_workflow.lite import Workflow


def _populate(db: str) -> None:
    async def go() -> None:
        wf = Workflow("cli-app", db=db)

        @wf.task
        async def greet(name: str) -> str:
            return f"hello {name}"

        @wf.workflow(id="greet-{name}")
        async def run(name: str) -> str:
            if name == "bob":
                raise LookupError("no bob")
            return await greet(name)

        await run("ann")
        with pytest.raises(LookupError):
            await run("bob")
        await wf.close()

    asyncio.run(go())


def test_list_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    _populate(db)

    assert main(["lite", "list", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["RUN", "ID", "APP", "WORKFLOW"]
    assert [line.split()[0] for line in lines[1:]] == ["greet-bob", "greet-ann"]
    assert "failed" in lines[1] and "completed" in lines[2]

    assert main(["lite", "list", "--db", db, "--status", "completed", "--json"]) == 0
    (row,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert row["run_id"] == "greet-ann" and row["steps"][0]["result"] == "hello ann"

    assert main(["lite", "show", "greet-bob", "--db", db]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "failed" and "LookupError: no bob" in shown["error"]

    assert main(["lite", "show", "nobody", "--db", db, "--app", "cli-app"]) == 1
    assert "no run 'nobody' in app 'cli-app'" in capsys.readouterr().err


def test_missing_database_and_bad_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.db"
    assert main(["lite", "list", "--db", str(missing)]) == 2
    assert f"no database at {missing}" in capsys.readouterr().err
    assert not missing.exists()
    assert main(["lite", "show", "x", "--db", "ftp://nope"]) == 2
    assert "unknown store URL scheme 'ftp'" in capsys.readouterr().err
