"""Errors become the protocol's error envelope here, and only here.

``{"reason": ..., "message": ..., **extra}``; validation failures (422) carry ``errors``
(field -> [messages]).
"""

from __future__ import annotations

import logging
from typing import Any

from ..engine.errors import EngineError

log = logging.getLogger(__name__)


class ApiError(EngineError):
    """An error raised by the protocol surface itself (routing, auth, headers, bodies)."""

    def __init__(self, status: int, reason: str, message: str, **extra: Any) -> None:
        super().__init__(message, reason=reason, **extra)
        self.status = status


def validation_error(errors: dict[str, list[str]], message: str | None = None) -> ApiError:
    if message is None:
        field, msgs = next(iter(errors.items()))
        message = (
            f"The {field} field {msgs[0]}."
            if len(errors) == 1
            else (
                f"The {field} field {msgs[0]} (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})."
            )
        )
    return ApiError(422, "validation_failed", message, errors=errors)


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Status and envelope for any exception a handler let escape."""
    if isinstance(exc, EngineError):
        body: dict[str, Any] = {"reason": exc.reason, "message": exc.message}
        body.update(exc.extra)
        return exc.status, body
    log.error("unhandled error in API handler", exc_info=exc)
    return 500, {"reason": "internal_error", "message": "internal server error"}
