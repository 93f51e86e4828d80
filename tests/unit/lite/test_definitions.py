"""Decorators, run-id templates and JSON results: no store is ever touched here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import durable
import durable.backoff
import durable_workflow.lite as lite
from durable_workflow.lite import (
    Claim,
    DefinitionError,
    InvalidArgumentError,
    RunIdError,
    RunInfo,
    StepInfo,
    Store,
    Workflow,
)
from durable_workflow.lite.workflow import _owner_is_gone, _to_json


class ExplodingStore(Store):
    """Any store access fails the test: proves 'no store access at all'."""

    async def claim_run(self, *args: Any, **kwargs: Any) -> Claim:
        raise AssertionError("store used")

    async def save_step(self, *args: Any, **kwargs: Any) -> bool:
        raise AssertionError("store used")

    async def finish_run(self, *args: Any, **kwargs: Any) -> bool:
        raise AssertionError("store used")

    async def release_run(self, *args: Any, **kwargs: Any) -> bool:
        raise AssertionError("store used")

    async def renew_leases(self, leases: Sequence[tuple[str, str, str]], s: float) -> list[bool]:
        raise AssertionError("store used")

    async def list_runs(self, *args: Any, **kwargs: Any) -> list[RunInfo]:
        raise AssertionError("store used")


@pytest.fixture
def wf() -> Workflow:
    return Workflow("unit", store=ExplodingStore())


def test_public_names_are_pinned() -> None:
    assert sorted(lite.__all__) == sorted(
        ["DEFAULT_DB", "Claim", "DefinitionError", "DurableError", "DurableFunction",
         "InvalidArgumentError", "LeaseLostError", "PostgresStore", "RunConflictError",
         "RunContext", "RunIdError", "RunInfo", "SQLiteStore", "SerializationError", "StepInfo",
         "Store", "StoreURLError", "StoreUnavailableError", "Task", "Workflow", "backoff",
         "constant", "current_run", "exponential", "linear", "store_from_url"]
    )
    for name in set(lite.__all__) - {"backoff"}:
        assert getattr(durable, name) is getattr(lite, name), name
    assert durable.backoff.exponential is lite.backoff.exponential


async def test_tasks_outside_a_workflow_are_plain_functions(wf: Workflow) -> None:
    attempts = []

    @wf.task(retries=3)
    async def double(x: int) -> int:
        attempts.append(x)
        return x * 2

    @wf.task
    async def flaky() -> None:
        attempts.append("flaky")
        raise RuntimeError("no retries outside a workflow")

    assert await double(4) == 8
    assert await double(5, step_id="ignored-outside") == 10
    with pytest.raises(RuntimeError):
        await flaky()
    assert attempts == [4, 5, "flaky"]
    assert double.__name__ == "double" and double.retries == 3


def test_run_id_template_binds_positional_keyword_and_defaults(wf: Workflow) -> None:
    @wf.workflow(id="pipeline-{source}-{page}")
    async def pipeline(source: str, page: int = 1) -> None: ...

    assert pipeline.run_id_for("users") == "pipeline-users-1"
    assert pipeline.run_id_for(source="users", page=3) == "pipeline-users-3"
    assert pipeline.run_id_for("orders", 2) == "pipeline-orders-2"


def test_run_id_template_with_attribute_and_kwargs(wf: Workflow) -> None:
    @wf.workflow(id="job-{cfg[name]}-{tenant}")
    async def job(cfg: dict[str, str], **extra: Any) -> None: ...

    assert job.run_id_for({"name": "n"}, tenant="t1") == "job-n-t1"
    with pytest.raises(RunIdError, match=r"needs 'tenant'.*does not pass"):
        job.run_id_for({"name": "n"})


def test_default_run_id_is_stable_per_arguments(wf: Workflow) -> None:
    @wf.workflow
    async def sync(a: int, b: str = "x") -> None: ...

    assert sync.run_id_for(1) == sync.run_id_for(a=1, b="x")
    assert sync.run_id_for(1) != sync.run_id_for(2)
    assert sync.run_id_for(1).startswith("test_default_run_id_is_stable_per_arguments.sync-")
    with pytest.raises(RunIdError, match=r"not JSON.*id="):
        sync.run_id_for(object())  # type: ignore[arg-type]


def test_template_errors_name_the_placeholder(wf: Workflow) -> None:
    with pytest.raises(RunIdError, match=r"uses \{nope\}, which is not a parameter of p\(source\)"):

        @wf.workflow(id="x-{nope}")
        async def p(source: str) -> None: ...

    with pytest.raises(RunIdError, match="positional placeholder"):

        @wf.workflow(id="x-{0}")
        async def q(source: str) -> None: ...

    with pytest.raises(RunIdError, match=r"id template 'x-\{'"):

        @wf.workflow(id="x-{")
        async def r(source: str) -> None: ...

    with pytest.raises(RunIdError, match="non-empty template"):
        wf.workflow(id="")


def test_wrong_call_arguments_name_the_workflow(wf: Workflow) -> None:
    @wf.workflow(id="w-{a}")
    async def w(a: int) -> None: ...

    with pytest.raises(TypeError, match=r"^w\(\): missing a required argument: 'a'"):
        w.run_id_for()


def test_decorator_misuse_is_a_definition_error(wf: Workflow) -> None:
    def not_async() -> None: ...

    with pytest.raises(DefinitionError, match="needs an async def function"):
        wf.task(not_async)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match=r"did you mean @wf.task\(retries=3\)"):
        wf.task(3)  # type: ignore[call-overload]
    with pytest.raises(DefinitionError, match="reserves"):

        @wf.task
        async def t(step_id: str) -> None: ...

    @wf.task
    async def dup() -> None: ...

    async def dup_again() -> None: ...

    dup_again.__qualname__ = dup.__qualname__
    with pytest.raises(DefinitionError, match="pass name="):
        wf.task(dup_again)
    wf.task(name="other")(dup_again)  # a distinct name is fine


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"retries": -1}, "retries must be an int >= 0"),
        ({"retries": "3"}, "retries must be an int >= 0"),
        ({"retries": True}, "retries must be an int >= 0"),
        ({"backoff": "fast"}, "backoff must be"),
    ],
)
def test_bad_task_options(wf: Workflow, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        wf.task(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": ""}, "non-empty string"),
        ({"name": "a", "db": "x.db", "store": ExplodingStore()}, "not both"),
        ({"name": "a", "store": object()}, "durable Store instance"),
        ({"name": "a", "lease_seconds": 0}, "lease_seconds must be"),
        ({"name": "a", "poll_interval": float("nan")}, "poll_interval must be"),
        ({"name": "a", "sleep": 5}, "sleep must be"),
    ],
)
def test_bad_workflow_options(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        Workflow(**kwargs)


class FakeModel:
    """Duck-typed like a Pydantic model: pydantic is not a dependency."""

    def __init__(self, **fields: Any) -> None:
        self.fields = fields

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        assert mode == "json"
        return dict(self.fields)


def test_results_replay_as_json() -> None:
    assert _to_json((1, 2), "task", "t", "r") == [1, 2]
    assert _to_json({"m": FakeModel(a=1)}, "task", "t", "r") == {"m": {"a": 1}}
    assert _to_json(FakeModel(b=[1]), "task", "t", "r") == {"b": [1]}


@pytest.mark.parametrize("value", [object(), {1, 2}, float("nan"), b"bytes"])
def test_non_json_results_name_task_and_run(value: Any) -> None:
    with pytest.raises(lite.SerializationError, match="task 'fetch' in run 'run-7'") as info:
        _to_json(value, "task", "fetch", "run-7")
    assert info.value.name == "fetch" and info.value.run_id == "run-7"


def test_foreign_or_malformed_owners_are_never_presumed_gone() -> None:
    assert not _owner_is_gone("otherhost|pid:[1]|123|token")
    assert not _owner_is_gone("garbage")


def test_step_and_run_info_are_json_able() -> None:
    step = StepInfo("k", "completed", {"a": 1}, 1, None, 1.0)
    run = RunInfo("app", "r", "w", "completed", None, None, 1.0, 2.0, steps=(step,))
    assert run.to_dict()["steps"] == [step.to_dict()]
