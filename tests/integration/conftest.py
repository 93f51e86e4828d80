"""Integration fixtures: a real server (our Starlette app under uvicorn) in the test's loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import uvicorn

from durable_workflow.server.http.app import create_app
from durable_workflow.server.runtime import ServerConfig, ServerRuntime
from tests.support import pg
from tests.support.processes import free_port

TOKEN = "integration-token"


@dataclass
class LiveServer:
    url: str
    token: str
    db_url: str
    runtime: ServerRuntime

    def dump(self) -> list[str]:
        """Every row of every table: used to prove a rejected request changed nothing."""
        if self.db_url.startswith("postgresql://"):
            return pg.dump(self.db_url)
        with sqlite3.connect(self.db_url.removeprefix("sqlite:///")) as conn:
            return list(conn.iterdump())


@pytest.fixture
async def live_server(store_url: str) -> AsyncIterator[LiveServer]:
    """Our app under uvicorn on a free port, on each back end (``store_url`` is parametrised)."""
    runtime = await ServerRuntime.open(ServerConfig(db_url=store_url, token=TOKEN))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", TOKEN, store_url, runtime)
    finally:
        server.should_exit = True
        await task
        await runtime.close()
