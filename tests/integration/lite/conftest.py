"""Lite API fixtures: a real SQLite file per test and a sleep that records instead of waiting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durable_workflow.lite import Workflow


class RecordingSleep:
    """Injected as ``Workflow(sleep=...)``: retry delays are asserted, never slept."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lite.db'}"


@pytest.fixture
def make_wf(db: str, sleep: RecordingSleep) -> Any:
    def make(name: str = "app", **kwargs: Any) -> Workflow:
        kwargs.setdefault("db", db)
        kwargs.setdefault("sleep", sleep)
        return Workflow(name, **kwargs)

    return make
