"""Lite API fixtures: a real database per test (``db`` is ``store_url``: a SQLite file or the
worker's emptied PostgreSQL database) and a sleep that records instead of waiting."""

from __future__ import annotations

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
def db(store_url: str) -> str:
    return store_url


@pytest.fixture
def make_wf(db: str, sleep: RecordingSleep) -> Any:
    def make(name: str = "app", **kwargs: Any) -> Workflow:
        kwargs.setdefault("db", db)
        kwargs.setdefault("sleep", sleep)
        return Workflow(name, **kwargs)

    return make
