"""Starlette application: bytes in, ``ApiRequest`` to the API layer, ``ApiResponse`` back to bytes.

Everything protocol-shaped (auth, versions, validation, envelopes) happens in
``server.api`` so that the embedded transport, which skips HTTP, behaves the same.
The only error this module produces itself is for a body that is not JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..api import ApiRequest, ApiResponse
from ..runtime import ServerConfig, ServerRuntime

_JSON = "application/json"


def _encode(response: ApiResponse) -> Response:
    body = json.dumps(response.body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=response.status, headers=response.headers, media_type=_JSON)


def _bad_json(message: str) -> Response:
    payload = {"reason": "malformed_json", "message": message}
    return Response(json.dumps(payload).encode(), status_code=400, media_type=_JSON)


async def _client_gone(request: Request) -> None:
    """Return once the client has disconnected (the body was already read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _dispatch_while_connected(
    runtime: ServerRuntime, request: Request, api_request: ApiRequest
) -> Response | None:
    """Dispatch a long poll, abandoning it if the client hangs up first.

    A poll whose client went away (a crashed worker, or one that timed out its own request)
    must not lease the next task: nobody would receive it, and it would sit until its
    lease expired. Cancelling the dispatch while it waits leaves the task for the next poll.
    """
    work = asyncio.ensure_future(runtime.api.dispatch(api_request))
    gone = asyncio.ensure_future(_client_gone(request))
    try:
        await asyncio.wait((work, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if work.done():
        return _encode(work.result())
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await work
    return None


def create_app(
    config: ServerConfig | None = None, *, runtime: ServerRuntime | None = None
) -> Starlette:
    """Build the ASGI app. With ``runtime`` the caller owns its lifetime; else the app opens one."""
    state: dict[str, ServerRuntime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if runtime is not None:
            state["runtime"] = runtime
            yield
            return
        opened = await ServerRuntime.open(config or ServerConfig())
        state["runtime"] = opened
        try:
            yield
        finally:
            await opened.close()

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                return _bad_json(f"request body is not valid JSON: {exc}")
        api_request = ApiRequest(
            method=request.method,
            # Decode per segment so an encoded "/" inside an id cannot split the path.
            path="/".join(unquote(part) for part in request.url.path.split("/")),
            query=dict(request.query_params),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]},
            body=body,
        )
        runtime_ = state["runtime"]
        if api_request.path.endswith("/poll"):
            answered = await _dispatch_while_connected(runtime_, request, api_request)
            # Nobody is listening any more; any response is discarded by the server.
            return answered or Response(status_code=499)
        return _encode(await runtime_.api.dispatch(api_request))

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)], lifespan=lifespan)
