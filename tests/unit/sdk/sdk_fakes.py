"""A scripted in-memory Transport for SDK unit tests: records requests, answers from routes."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Handler = Callable[["Sent"], Any]

GOOD_CLUSTER_INFO: dict[str, Any] = {
    "version": "0.1.0",
    "control_plane": {
        "version": "2",
        "request_contract": {
            "schema": "durable-workflow.v2.control-plane-request.contract",
            "version": 1,
            "operations": {
                "update": {"fields": {"wait_for": {"canonical_values": ["accepted", "completed"]}}}
            },
        },
    },
    "worker_protocol": {"version": "1.20", "server_capabilities": {"query_tasks": True}},
    "auth_composition_contract": {
        "schema": "durable-workflow.v2.auth-composition.contract",
        "version": 1,
        "precedence": {
            "connection_values": ["flag", "environment", "selected_profile", "default"],
            "profile_selection": ["flag_env", "DW_ENV", "current_profile", "default_profile"],
        },
        "canonical_environment": {
            "server_url": "DURABLE_WORKFLOW_SERVER_URL",
            "namespace": "DURABLE_WORKFLOW_NAMESPACE",
            "auth_token": "DURABLE_WORKFLOW_AUTH_TOKEN",
            "tls_verify": "DURABLE_WORKFLOW_TLS_VERIFY",
            "profile": "DW_ENV",
        },
        "auth_material": {
            "token": {
                "status": "supported",
                "transport": "bearer_authorization_header",
                "effective_config_value": "redacted",
            },
            "mtls": {"status": "reserved"},
            "signed_headers": {"status": "reserved"},
        },
        "effective_config": {
            "required_fields": ["server_url", "namespace", "profile", "auth", "tls", "identity"]
        },
        "redaction": {"never_echo": ["bearer_tokens", "private_keys", "raw_authorization_headers"]},
    },
}


def cluster_info() -> dict[str, Any]:
    return copy.deepcopy(GOOD_CLUSTER_INFO)


@dataclass
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    params: dict[str, str] | None
    timeout: float | None


class FakeTransport:
    """Routes ``(method, path)`` to a handler returning ``(status, body)``, a body, or raising.

    A route may also hold a list of replies consumed in order (the last one repeats).
    """

    def __init__(self, routes: Mapping[tuple[str, str], Any] | None = None) -> None:
        self.routes: dict[tuple[str, str], Any] = dict(routes or {})
        self.sent: list[Sent] = []
        self.closed = 0

    def on(self, method: str, path: str, reply: Any) -> None:
        self.routes[(method, path)] = reply

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[int, Any]:
        sent = Sent(
            method,
            path,
            dict(headers),
            copy.deepcopy(body),
            dict(params) if params else None,
            timeout,
        )
        self.sent.append(sent)
        await asyncio.sleep(0)
        reply = self.routes.get((method, path))
        if reply is None:
            return 404, {"reason": "route_not_found", "message": f"no route {method} {path}"}
        if isinstance(reply, list):
            reply = reply.pop(0) if len(reply) > 1 else reply[0]
        if callable(reply):
            reply = reply(sent)
            if asyncio.iscoroutine(reply):
                reply = await reply
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, tuple):
            return reply
        return 200, reply

    async def aclose(self) -> None:
        self.closed += 1

    def paths(self) -> list[str]:
        return [f"{s.method} {s.path}" for s in self.sent]
