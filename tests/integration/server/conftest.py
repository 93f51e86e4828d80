from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from durable_workflow.server.engine.clock import FakeClock
from durable_workflow.server.runtime import ServerConfig, ServerRuntime

from .wire import Wire


@pytest.fixture
def db_url(store_url: str) -> str:
    return store_url  # parametrised: sqlite and postgres (tests/conftest.py)


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
