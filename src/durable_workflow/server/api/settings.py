"""API settings derived from ``ServerConfig``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiSettings:
    max_payload_bytes: int = 2 * 1024 * 1024
    max_poll_seconds: int = 60
    server_id: str = "durable-workflow-py"
    server_version: str = "0.1.0"
