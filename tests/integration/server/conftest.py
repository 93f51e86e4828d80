from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from durable_workflow.server.engine.clock import FakeClock
from durable_workflow.server.runtime import ServerConfig, ServerRuntime

from .wire import Wire


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dw.db'}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def runtime(db_url: str, clock: FakeClock) -> AsyncIterator[ServerRuntime]:
    rt = await ServerRuntime.open(ServerConfig(db_url=db_url, clock=clock))
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
def wire(runtime: ServerRuntime) -> Wire:
    return Wire(runtime.api)
