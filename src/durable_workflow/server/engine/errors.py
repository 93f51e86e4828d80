"""Engine errors. Each carries the HTTP status and protocol ``reason`` the API answers with.

Tree::

    EngineError
     ├─ NotFound (404 instance_not_found / run_not_found / task_not_found / ...)
     │   ├─ NamespaceNotFound (404 namespace_not_found)
     │   └─ WorkerNotFound (404 worker_not_found)
     ├─ AlreadyStarted (409 instance_already_started)
     ├─ InvalidArgument (422, with an ``errors`` dict field -> [messages])
     ├─ BadRequest (400 invalid_page_token)
     ├─ Conflict (409)
     │   ├─ LeaseConflict (409 lease_expired / lease_owner_mismatch / task_not_leased / ...)
     │   └─ RunNotActive (409 run_not_active)
     └─ Unavailable (503, engine shutting down)
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base class: ``status``, ``reason``, ``message`` and extra envelope fields."""

    status = 500
    reason = "internal_error"

    def __init__(self, message: str, *, reason: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.extra = extra


class NotFound(EngineError):
    status = 404
    reason = "instance_not_found"


class NamespaceNotFound(NotFound):
    reason = "namespace_not_found"


class WorkerNotFound(NotFound):
    reason = "worker_not_found"


class AlreadyStarted(EngineError):
    status = 409
    reason = "instance_already_started"


class InvalidArgument(EngineError):
    status = 422
    reason = "validation_failed"

    def __init__(
        self,
        message: str,
        errors: dict[str, list[str]] | None = None,
        *,
        reason: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message, reason=reason, **extra)
        self.errors = errors or {}
        self.extra["errors"] = self.errors


class Conflict(EngineError):
    status = 409
    reason = "conflict"


class LeaseConflict(Conflict):
    reason = "lease_expired"


class RunNotActive(Conflict):
    reason = "run_not_active"


class BadRequest(EngineError):
    status = 400
    reason = "bad_request"


class Unavailable(EngineError):
    status = 503
    reason = "unavailable"
