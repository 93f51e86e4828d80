"""The README of seed 004 (python-durable), its code blocks run as written.

Only the network fetch and the database insert of the quick start are replaced by local
functions; ``Workflow("my-app")`` runs unchanged, in a temporary working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.lite.conftest import RecordingSleep

fetched: list[str] = []
inserted: list[dict[str, Any]] = []


class _Response:
    def __init__(self, url: str) -> None:
        self.url = url

    def json(self) -> dict[str, Any]:
        return {"from": self.url}


class _LocalHttp:
    """Stands in for ``httpx.AsyncClient``."""

    async def __aenter__(self) -> _LocalHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def get(self, url: str) -> _Response:
        fetched.append(url)
        return _Response(url)


class httpx:
    AsyncClient = _LocalHttp


class db:
    @staticmethod
    async def insert(data: dict[str, Any]) -> None:
        inserted.append(data)


class Crash(BaseException):
    """Like the process dying: not an ``Exception``, so not a task failure."""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # Workflow("my-app") creates durable.db in the cwd
    monkeypatch.delenv("DURABLE_DB", raising=False)
    fetched.clear()
    inserted.clear()


async def test_quick_start(tmp_path: Path) -> None:
    from durable import Workflow
    from durable.backoff import exponential

    wf = Workflow("my-app")

    @wf.task(retries=3, backoff=exponential(base=2, max=60))
    async def fetch_data(url: str) -> dict:  # type: ignore[type-arg]
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).json()

    @wf.task
    async def save_result(data: dict) -> None:  # type: ignore[type-arg]
        await db.insert(data)

    @wf.workflow(id="pipeline-{source}")
    async def run_pipeline(source: str) -> None:
        data = await fetch_data(f"https://api.example.com/{source}")
        await save_result(data)

    # First call: runs all steps and checkpoints each one.
    await run_pipeline(source="users")
    assert (tmp_path / "durable.db").exists()
    assert fetched == ["https://api.example.com/users"]
    assert inserted == [{"from": "https://api.example.com/users"}]

    # Calling again with the same args: nothing re-executes.
    await run_pipeline(source="users")
    assert len(fetched) == 1 and len(inserted) == 1

    (run,) = await wf.list_runs()
    assert (run.run_id, run.workflow_name, run.status) == (
        "pipeline-users", run_pipeline.name, "completed"
    )
    assert [(s.key, s.result) for s in run.steps] == [
        (fetch_data.name, {"from": "https://api.example.com/users"}),
        (save_result.name, None),
    ]
    await wf.close()


async def test_backoff_strategies() -> None:
    from durable import Workflow
    from durable.backoff import constant, exponential, linear

    sleep = RecordingSleep()
    wf = Workflow("my-app", sleep=sleep)
    failures = {"exp": 5, "lin": 3, "const": 3}

    def maybe_fail(kind: str) -> None:
        if failures[kind]:
            failures[kind] -= 1
            raise ConnectionError(kind)

    @wf.task(retries=5, backoff=exponential(base=2, max=60))  # 2s, 4s, 8s, 16s, 32s
    async def exp_task() -> None:
        maybe_fail("exp")

    @wf.task(retries=3, backoff=linear(start=2, step=3))  # 2s, 5s, 8s
    async def linear_task() -> None:
        maybe_fail("lin")

    @wf.task(retries=3, backoff=constant(5))  # 5s, 5s, 5s
    async def const_task() -> None:
        maybe_fail("const")

    @wf.workflow(id="backoff-{kind}")
    async def run(kind: str) -> None:
        await {"exp": exp_task, "lin": linear_task, "const": const_task}[kind]()

    await run("exp")
    assert sleep.delays == [2, 4, 8, 16, 32]
    sleep.delays.clear()
    await run("lin")
    assert sleep.delays == [2, 5, 8]
    sleep.delays.clear()
    await run("const")
    assert sleep.delays == [5, 5, 5]
    attempts = {r.run_id: r.steps[0].attempts for r in await wf.list_runs()}
    assert attempts == {"backoff-exp": 6, "backoff-lin": 4, "backoff-const": 4}
    await wf.close()


async def test_loops_with_step_id() -> None:
    from durable import Workflow

    wf = Workflow("my-app")
    items = ["a", "b", "c", "d"]
    processed: list[str] = []
    crash_at = {"c"}

    @wf.task
    async def process_item(item: str) -> str:
        if item in crash_at:
            raise Crash  # a crash, not a task failure: nothing is recorded
        processed.append(item)
        return item.upper()

    @wf.workflow(id="batch-{batch_id}")
    async def process_batch(batch_id: str) -> None:
        for i, item in enumerate(items):
            await process_item(item, step_id=f"item-{i}")

    with pytest.raises(Crash):
        await process_batch("b1")
    assert processed == ["a", "b"]
    crash_at.clear()
    # If the workflow crashes mid-loop, only the remaining items are processed on restart.
    await process_batch("b1")
    assert processed == ["a", "b", "c", "d"]
    run = await wf.get_run("batch-b1")
    assert run is not None and run.status == "completed"
    assert [s.key for s in run.steps] == [f"{process_item.name}[item-{i}]" for i in range(4)]
    await wf.close()


async def test_pydantic_models_via_model_dump() -> None:
    pydantic = pytest.importorskip("pydantic")
    from durable import Workflow

    class InvoiceDraft(pydantic.BaseModel):  # type: ignore[name-defined,misc]
        amount: int

    class ValidatedInvoice(pydantic.BaseModel):  # type: ignore[name-defined,misc]
        amount: int
        approved: bool

    wf = Workflow("my-app")
    booked: list[Any] = []

    @wf.task
    async def validate_invoice(draft: InvoiceDraft) -> dict:  # type: ignore[type-arg]
        validated = ValidatedInvoice(amount=draft.amount, approved=True)
        return validated.model_dump()

    @wf.task
    async def book_invoice(data: dict) -> dict:  # type: ignore[type-arg]
        invoice = ValidatedInvoice.model_validate(data)
        booked.append(invoice)
        return {"booked": invoice.amount}

    @wf.task
    async def as_model(data: dict) -> ValidatedInvoice:  # type: ignore[type-arg]
        return ValidatedInvoice.model_validate(data)  # beyond the seed: stored as model_dump(mode="json")

    @wf.workflow(id="invoice-{n}")
    async def invoice(n: int) -> Any:
        data = await validate_invoice(InvoiceDraft(amount=n))
        await book_invoice(data)
        return await as_model(data)

    assert await invoice(7) == {"amount": 7, "approved": True}  # a model replays as a dict
    assert await invoice(7) == {"amount": 7, "approved": True}
    assert len(booked) == 1
    await wf.close()
