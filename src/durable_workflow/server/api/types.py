"""The request/response objects every transport (HTTP adapter, embedded SDK) exchanges with ``Api``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ApiRequest:
    method: str  # "GET", "POST", "DELETE", "PUT"
    path: str  # starts with "/api/"; the router URL-decodes each path segment
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case keys
    body: Any = None  # parsed JSON or None; raw bytes never reach handlers


@dataclass
class ApiResponse:
    status: int
    body: Any  # JSON-able
    headers: dict[str, str] = field(default_factory=dict)
