"""Bad input gets the protocol's error envelope, the SDK's typed exception, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from durable_workflow import Client
from durable_workflow.errors import (
    InvalidArgument,
    NamespaceNotFound,
    Unauthorized,
    WorkflowNotFound,
)
from durable_workflow.protocol import codec

from .conftest import LiveServer

CONTROL = {"X-Durable-Workflow-Control-Plane-Version": "2", "X-Namespace": "default",
           "Content-Type": "application/json"}


async def _raw(server: LiveServer, method: str, path: str, data: bytes | None,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
    hdrs = {**CONTROL, "Authorization": f"Bearer {server.token}", **(headers or {})}
    async with aiohttp.ClientSession() as session, session.request(
        method, server.url + path, data=data, headers=hdrs
    ) as resp:
        return resp.status, json.loads(await resp.text())


def _start_body(**overrides: Any) -> dict[str, Any]:
    body = {"workflow_id": "bad-input-1", "workflow_type": "greeter", "task_queue": "q",
            "input": codec.envelope(["x"]), "execution_timeout_seconds": 3600, "run_timeout_seconds": 600}
    body.update(overrides)
    return body


async def _seed(server: LiveServer) -> None:
    async with Client(server.url, token=server.token) as client:
        await client.start_workflow(workflow_type="greeter", task_queue="q", workflow_id="existing", input=["a"])


async def test_malformed_json_is_an_envelope_and_changes_nothing(live_server: LiveServer) -> None:
    await _seed(live_server)
    before = live_server.dump()
    status, body = await _raw(live_server, "POST", "/api/workflows", b'{"workflow_id": "x",')
    assert status == 400
    assert body["reason"] == "malformed_json" and "JSON" in body["message"]
    assert live_server.dump() == before


@pytest.mark.parametrize("missing", ["workflow_id", "workflow_type", "task_queue"])
async def test_missing_required_field_names_the_field(live_server: LiveServer, missing: str) -> None:
    await _seed(live_server)
    before = live_server.dump()
    body = _start_body()
    del body[missing]
    status, reply = await _raw(live_server, "POST", "/api/workflows", json.dumps(body).encode())
    assert status == 422
    assert missing in reply["errors"]
    assert live_server.dump() == before


async def test_wrong_type_names_the_field(live_server: LiveServer) -> None:
    before = live_server.dump()
    status, reply = await _raw(live_server, "POST", "/api/workflows",
                               json.dumps(_start_body(task_queue=42)).encode())
    assert status == 422 and "task_queue" in reply["errors"]
    assert live_server.dump() == before


async def test_unknown_workflow_is_workflow_not_found(live_server: LiveServer) -> None:
    await _seed(live_server)
    before = live_server.dump()
    async with Client(live_server.url, token=live_server.token) as client:
        with pytest.raises(WorkflowNotFound):
            await client.describe_workflow("no-such-workflow")
        with pytest.raises(WorkflowNotFound):
            await client.signal_workflow("no-such-workflow", "approve", args=["x"])
    status, body = await _raw(live_server, "GET", "/api/workflows/no-such-workflow", None)
    assert status == 404 and body["reason"] == "instance_not_found"
    assert live_server.dump() == before


async def test_unknown_namespace_is_namespace_not_found(live_server: LiveServer) -> None:
    before = live_server.dump()
    async with Client(live_server.url, token=live_server.token, namespace="nowhere") as client:
        with pytest.raises(NamespaceNotFound):
            await client.start_workflow(workflow_type="greeter", task_queue="q", workflow_id="ns-1", input=[])
    assert live_server.dump() == before


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_missing_or_wrong_token_is_unauthorized(live_server: LiveServer, token: str | None) -> None:
    before = live_server.dump()
    async with Client(live_server.url, token=token) as client:
        with pytest.raises(Unauthorized):
            await client.list_workflows()
        with pytest.raises(Unauthorized):
            await client.start_workflow(workflow_type="greeter", task_queue="q", workflow_id="auth-1", input=[])
    status, body = await _raw(live_server, "GET", "/api/workflows", None,
                              {"Authorization": f"Bearer {token or ''}"})
    assert status == 401 and body["reason"] == "unauthorized"
    assert live_server.dump() == before


async def test_payload_over_the_advertised_limit_is_rejected(live_server: LiveServer) -> None:
    await _seed(live_server)
    before = live_server.dump()
    async with Client(live_server.url, token=live_server.token) as client:
        limit = (await client.get_cluster_info())["limits"]["max_payload_bytes"]
    huge = "x" * (limit + 1024)
    # Our SDK refuses locally by default; a client configured with a larger limit reaches the server.
    async with Client(live_server.url, token=live_server.token, payload_size_limit_bytes=limit * 4) as client:
        with pytest.raises(InvalidArgument) as info:
            await client.start_workflow(workflow_type="greeter", task_queue="q", workflow_id="big-1", input=[huge])
        assert "input" in info.value.errors
    assert live_server.dump() == before


async def test_payload_over_the_limit_is_refused_by_the_sdk_before_sending(live_server: LiveServer) -> None:
    before = live_server.dump()
    async with Client(live_server.url, token=live_server.token) as client:
        limit = (await client.get_cluster_info())["limits"]["max_payload_bytes"]
        with pytest.raises(ValueError, match="payload"):
            await client.start_workflow(workflow_type="greeter", task_queue="q", workflow_id="big-2",
                                        input=["x" * (limit + 1024)])
    assert live_server.dump() == before


async def test_input_that_cannot_be_encoded(live_server: LiveServer) -> None:
    before = live_server.dump()
    async with Client(live_server.url, token=live_server.token) as client:
        with pytest.raises((TypeError, ValueError), match=r"cannot be encoded|encod"):
            await client.start_workflow(workflow_type="greeter", task_queue="q", workflow_id="enc-1",
                                        input=[object()])
    # A non-SDK caller sending a blob that is not Avro gets a 422 naming the field.
    status, body = await _raw(live_server, "POST", "/api/workflows",
                              json.dumps(_start_body(input={"codec": "avro", "blob": "not avro"})).encode())
    assert status == 422 and "input" in body["errors"]
    assert live_server.dump() == before
