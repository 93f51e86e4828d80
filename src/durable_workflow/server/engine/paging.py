"""Opaque page tokens and the wire form of history events."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..store.rows import EventRow
from .clock import rfc3339
from .errors import BadRequest


def encode_token(value: int) -> str:
    """base64 of the decimal integer (history: last delivered sequence; lists: offset)."""
    return base64.b64encode(str(value).encode("ascii")).decode("ascii")


def decode_token(token: str | None, field: str = "next_page_token") -> int:
    """0 for an absent token; ``MA==`` (base64 "0") means "from the start"."""
    if token is None or token == "":
        return 0
    try:
        text = base64.b64decode(token, validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        text = ""
    if not text.isdigit():
        raise BadRequest(
            f"{field} {token!r} is not a page token issued by this server",
            reason="invalid_page_token",
        )
    return int(text)


def event_dict(row: EventRow, namespace: str | None = None) -> dict[str, Any]:
    recorded = rfc3339(row.recorded_at)
    out: dict[str, Any] = {
        "id": row.event_id,
        "sequence": row.sequence,
        "event_type": row.event_type,
        "recorded_at": recorded,
        "timestamp": recorded,
        "payload": row.payload,
        "workflow_task_id": row.workflow_task_id,
    }
    if namespace is not None:
        out["namespace"] = namespace
    return out
