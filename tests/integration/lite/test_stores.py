"""Store selection by URL, a user-written Store subclass, and the stores' bad inputs."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from durable_workflow.lite import (
    Claim,
    InvalidArgumentError,
    PostgresStore,
    RunInfo,
    SQLiteStore,
    StepInfo,
    Store,
    StoreUnavailableError,
    StoreURLError,
    Workflow,
    store_from_url,
)
from durable_workflow.lite.store import RunStatus


class MemoryStore(Store):
    """What a user writes to keep runs elsewhere: dicts here, Redis in real life."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], RunInfo] = {}
        self.steps: dict[tuple[str, str], dict[str, StepInfo]] = {}

    async def claim_run(
        self, app: str, run_id: str, workflow_name: str, owner: str, lease_seconds: float, owner_is_gone: Any
    ) -> Claim:
        now = time.time()
        run = self.runs.get((app, run_id))
        if run is None:
            run = RunInfo(app, run_id, workflow_name, "running", None, None, now, now)
        elif run.status == "completed" or run.workflow_name != workflow_name or not self.lease_is_free(
            run, now, owner_is_gone
        ):
            return Claim(False, run)
        run = dataclasses.replace(run, status="running", lease_owner=owner, lease_expires_at=now + lease_seconds)
        self.runs[(app, run_id)] = run
        steps = self.steps.setdefault((app, run_id), {})
        return Claim(True, run, {k: s.result for k, s in steps.items() if s.status == "completed"})

    def _held(self, app: str, run_id: str, owner: str) -> bool:
        return self.runs[(app, run_id)].lease_owner == owner

    async def save_step(self, app: str, run_id: str, owner: str, step: StepInfo, lease_seconds: float) -> bool:
        if not self._held(app, run_id, owner):
            return False
        self.steps[(app, run_id)][step.key] = step
        return True

    async def finish_run(
        self, app: str, run_id: str, owner: str, status: RunStatus, result: Any, error: str | None
    ) -> bool:
        if not self._held(app, run_id, owner):
            return False
        run = self.runs[(app, run_id)]
        self.runs[(app, run_id)] = dataclasses.replace(
            run, status=status, result=result, error=error, lease_owner=None, lease_expires_at=None
        )
        return True

    async def release_run(self, app: str, run_id: str, owner: str) -> bool:
        if not self._held(app, run_id, owner):
            return False
        run = self.runs[(app, run_id)]
        self.runs[(app, run_id)] = dataclasses.replace(run, lease_owner=None, lease_expires_at=None)
        return True

    async def renew_leases(self, leases: Sequence[tuple[str, str, str]], lease_seconds: float) -> list[bool]:
        return [self._held(*lease) for lease in leases]

    async def list_runs(
        self, app: str | None = None, *, status: str | None = None, run_id: str | None = None,
        limit: int = 100, offset: int = 0,
    ) -> list[RunInfo]:
        found = [
            dataclasses.replace(r, steps=tuple(self.steps.get((r.app, r.run_id), {}).values()))
            for r in self.runs.values()
            if app in (None, r.app) and status in (None, r.status) and run_id in (None, r.run_id)
        ]
        return found[offset : offset + limit]


async def test_a_user_store_subclass_runs_workflows() -> None:
    store = MemoryStore()
    wf = Workflow("mem", store=store)
    calls: list[int] = []
    fail = True

    @wf.task
    async def step(n: int) -> int:
        calls.append(n)
        if n == 1 and fail:
            raise RuntimeError("boom")
        return n

    @wf.workflow(id="mem-run")
    async def run() -> list[int]:
        return [await step(0), await step(1)]

    with pytest.raises(RuntimeError):
        await run()
    fail = False
    assert await run() == [0, 1]
    assert calls == [0, 1, 1]
    info = await wf.get_run("mem-run")  # the base class's get_run, on list_runs
    assert info is not None and info.status == "completed" and len(info.steps) == 2


def test_the_store_base_is_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        Store()  # type: ignore[abstract]


def test_urls_select_the_back_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert isinstance(store_from_url("sqlite:///a.db"), SQLiteStore)
    assert isinstance(store_from_url("a.db"), SQLiteStore)
    assert isinstance(store_from_url(tmp_path / "a.db"), SQLiteStore)
    # Relative paths are resolved once, so every spelling of a file is one store URL.
    assert store_from_url("sqlite:///a.db").url == SQLiteStore(tmp_path / "a.db").url  # type: ignore[attr-defined]
    assert store_from_url("sqlite:///:memory:").url == "sqlite:///:memory:"  # type: ignore[attr-defined]
    assert isinstance(store_from_url("postgresql://u:p@localhost/db"), PostgresStore)
    assert isinstance(store_from_url("postgres://u:p@localhost/db"), PostgresStore)
    monkeypatch.setenv("DURABLE_DB", "sqlite:///from-env.db")
    assert Workflow("env").store.url.endswith("/from-env.db")  # type: ignore[attr-defined]
    monkeypatch.delenv("DURABLE_DB")
    assert Workflow("default").store.url == f"sqlite:///{tmp_path / 'durable.db'}"  # type: ignore[attr-defined]
    assert not (tmp_path / "durable.db").exists()  # nothing is opened before the first run


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("mysql://u@h/db", "unknown store URL scheme 'mysql'"),
        ("redis://h", "unknown store URL scheme 'redis'"),
        ("", "non-empty"),
        ("sqlite://relative.db", "sqlite:///relative.db"),
        ("sqlite:///", "sqlite:///relative.db"),
    ],
)
def test_bad_store_urls(url: str, match: str) -> None:
    with pytest.raises(StoreURLError, match=match):
        store_from_url(url)
    with pytest.raises(StoreURLError, match=match):
        Workflow("x", db=url)


def test_store_url_errors_are_value_errors_and_hide_passwords() -> None:
    with pytest.raises(ValueError, match=r"'mongodb://\*\*\*@host/db'"):
        store_from_url("mongodb://user:secret@host/db")
    with pytest.raises(StoreURLError, match="needs a postgresql://"):
        PostgresStore("sqlite:///x.db")
    with pytest.raises(StoreURLError, match="needs a sqlite:///"):
        SQLiteStore("postgresql://h/db")


async def test_unreachable_postgres_is_a_clear_error() -> None:
    wf = Workflow("pg", db="postgresql://user:secret@127.0.0.1:1/db")

    @wf.workflow(id="x")
    async def x() -> None: ...

    with pytest.raises(StoreUnavailableError, match="PostgreSQL") as info:
        await x()
    assert "secret" not in str(info.value)


async def test_bad_paging_arguments(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "p.db")
    with pytest.raises(InvalidArgumentError, match="limit must be an int >= 1"):
        await store.list_runs(limit=0)
    with pytest.raises(InvalidArgumentError, match="offset must be an int >= 0"):
        await store.list_runs(offset=-1)
    await store.close()


async def test_two_spellings_of_one_file_share_a_connection(tmp_path: Path) -> None:
    a = SQLiteStore(f"sqlite:///{tmp_path}/s.db")
    b = SQLiteStore(os.path.join(tmp_path, ".", "s.db"))
    assert await a._shared() is await b._shared()
    await a.close()
