"""Payload helpers for SDK users: plain-value adaptation, envelopes and size checks.

The wire format itself lives in :mod:`durable_workflow.protocol.codec`; this module is the
SDK-facing layer on top of it:

* :func:`to_avro_payload_value` turns common Python objects (dataclasses, pydantic models,
  datetimes, UUIDs, decimals, enums, tuples, sets) into the plain values the Avro ``Value``
  schema can hold. The SDK never applies it implicitly; call it on your own data.
* :func:`envelope` / :func:`decode_envelope` wrap and unwrap ``{"codec": "avro", "blob": ...}``.
* :func:`check_payload_size` enforces the client's payload limit before a request is sent.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import logging
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from durable_workflow.protocol import codec
from durable_workflow.protocol.codec import PayloadDecodeError, PayloadEncodeError

__all__ = [
    "AVRO_CODEC",
    "DEFAULT_PAYLOAD_SIZE_LIMIT_BYTES",
    "DEFAULT_PAYLOAD_SIZE_WARNING",
    "DEFAULT_WARNING_THRESHOLD_PERCENT",
    "PayloadDecodeError",
    "PayloadEncodeError",
    "PayloadTooLarge",
    "check_payload_size",
    "decode",
    "decode_arguments",
    "decode_envelope",
    "encode",
    "envelope",
    "to_avro_payload_value",
]

AVRO_CODEC = codec.AVRO_CODEC
DEFAULT_PAYLOAD_SIZE_LIMIT_BYTES = 2 * 1024 * 1024
DEFAULT_WARNING_THRESHOLD_PERCENT = 80
#: Bytes at which one encoded blob draws a size warning (80 % of the 2 MiB default limit).
DEFAULT_PAYLOAD_SIZE_WARNING = DEFAULT_PAYLOAD_SIZE_LIMIT_BYTES * DEFAULT_WARNING_THRESHOLD_PERCENT // 100

_log = logging.getLogger("durable_workflow.serializer")
_PLAIN = (str, int, float, bool, bytes, type(None))


class PayloadTooLarge(ValueError):
    """An encoded payload is larger than the client's ``payload_size_limit_bytes``."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(
            f"{what} payload is {size} bytes encoded, over the {limit}-byte limit; "
            "send a smaller value or raise payload_size_limit_bytes to match the server"
        )
        self.what = what
        self.size = size
        self.limit = limit


def to_avro_payload_value(value: Any) -> Any:
    """Return ``value`` converted to plain values the Avro ``Value`` schema can encode.

    Conversions (applied recursively): dataclass instances and pydantic models become
    dicts of their fields; tuples become lists; sets and frozensets become sorted lists;
    ``datetime``/``date``/``time`` become ISO-8601 strings; ``UUID`` and ``Decimal`` become
    strings; an ``Enum`` becomes its value; ``bytearray``/``memoryview`` become bytes.
    Dict keys must be strings (``str``-valued enums are accepted). Anything else raises
    ``TypeError`` naming the offending path.
    """
    return _adapt(value, "$")


def _adapt(value: Any, path: str) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, enum.Enum):
        return _adapt(value.value, path)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, enum.Enum):
                key = key.value
            if not isinstance(key, str):
                raise TypeError(f"dict key at {path} must be a string, got {type(key).__name__}")
            out[key] = _adapt(item, f"{path}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [_adapt(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [_adapt(item, f"{path}[]") for item in value]
        try:
            return sorted(items)  # sets have no order; sorting keeps payloads deterministic
        except TypeError as exc:
            raise TypeError(f"set at {path} holds values that cannot be ordered") from exc
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _adapt(getattr(value, f.name), f"{path}.{f.name}")
            for f in dataclasses.fields(value)
        }
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return _adapt(model_dump(), path)
    raise TypeError(
        f"value of type {type(value).__name__} at {path} has no Avro payload representation"
    )


def encode(value: Any) -> str:
    """Encode a plain value to a base64 Avro blob; raises ``PayloadEncodeError`` (a ValueError)."""
    return codec.encode(value)


def decode(blob: str) -> Any:
    """Decode a base64 Avro blob."""
    return codec.decode(blob)


def envelope(value: Any) -> dict[str, str]:
    """Wrap ``value`` as ``{"codec": "avro", "blob": ...}``.

    Raises ``PayloadEncodeError`` (a ValueError) naming the path of the first value that
    cannot be encoded; use :func:`to_avro_payload_value` to adapt rich objects first.
    """
    try:
        return codec.envelope(value)
    except PayloadEncodeError as exc:
        raise PayloadEncodeError(f"{exc} (to_avro_payload_value() adapts common types)") from None


def decode_envelope(obj: Any) -> Any:
    """Decode an envelope, a bare blob string or ``None``."""
    return codec.decode_envelope(obj)


def decode_arguments(obj: Any) -> list[Any]:
    """Decode an argument-list payload; ``None`` is no arguments, a non-list is one argument."""
    if obj is None:
        return []
    value = codec.decode_envelope(obj)
    if value is None and isinstance(obj, dict) and obj.get("blob") is None:
        return []
    return value if isinstance(value, list) else [value]


def check_payload_size(
    blob: str,
    *,
    what: str,
    limit: int = DEFAULT_PAYLOAD_SIZE_LIMIT_BYTES,
    warning_threshold_percent: int = DEFAULT_WARNING_THRESHOLD_PERCENT,
    warnings: bool = True,
) -> None:
    """Raise :class:`PayloadTooLarge` over ``limit``; log a warning from the threshold on."""
    size = len(blob)  # base64 is ASCII, so characters are bytes
    if size > limit:
        raise PayloadTooLarge(what, size, limit)
    if warnings and size * 100 >= limit * warning_threshold_percent:
        _log.warning(
            "%s payload is %d bytes encoded, %d%% of the %d-byte limit",
            what,
            size,
            size * 100 // limit,
            limit,
        )
