"""Control-plane fixtures: a server runtime with a fake clock on a real SQLite file or PostgreSQL
database (``db_url`` is ``store_url``, parametrised over both back ends in tests/conftest.py),
and an SDK Client wired straight to its ``Api.dispatch`` (JSON round-tripped, like the wire)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from durable_workflow import Client
from durable_workflow._transport import RuntimeTransport
from durable_workflow.server.engine.clock import FakeClock
from durable_workflow.server.runtime import ServerConfig, ServerRuntime
from tests.support import db


def ApiTransport(runtime: ServerRuntime) -> RuntimeTransport:
    """The SDK transport onto ``runtime``, with bodies copied through JSON as on the wire."""
    return RuntimeTransport(runtime, copy_bodies=True)


@pytest.fixture
def db_url(store_url: str) -> str:
    return store_url


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
async def client(runtime: ServerRuntime) -> AsyncIterator[Client]:
    async with Client("http://in-process", transport=ApiTransport(runtime)) as c:
        yield c


def make_client(runtime: ServerRuntime, **kwargs: Any) -> Client:
    return Client("http://in-process", transport=ApiTransport(runtime), **kwargs)


dump = db.dump  # every row of every table: proves a rejected request changed nothing


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


async def settle() -> None:
    """Let the sweeper run after a fake-clock jump (it is woken by the jump, not by time)."""
    for _ in range(20):
        await asyncio.sleep(0)
