"""The ``avro`` payload codec: the one payload format on the wire.

A blob is ``base64(C3 01 || fingerprint || avro_binary(Value))`` where ``Value``
is a fixed recursive union schema (see ``shared/protocol/payloads.md``). The
bytes are produced by fastavro; this module only maps Python values onto the
union branches and adds/removes the single-object framing.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

AVRO_CODEC = "avro"

_NS = "durable_workflow.protocol"
VALUE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Value",
    "namespace": _NS,
    "fields": [
        {
            "name": "value",
            "type": [
                "null",
                {"type": "record", "name": "BooleanValue", "fields": [{"name": "boolean", "type": "boolean"}]},
                {"type": "record", "name": "LongValue", "fields": [{"name": "long", "type": "long"}]},
                {"type": "record", "name": "DoubleValue", "fields": [{"name": "double", "type": "double"}]},
                {"type": "record", "name": "BytesValue", "fields": [{"name": "bytes", "type": "bytes"}]},
                {"type": "record", "name": "StringValue", "fields": [{"name": "string", "type": "string"}]},
                {
                    "type": "record",
                    "name": "ArrayValue",
                    "fields": [{"name": "items", "type": {"type": "array", "items": "Value"}}],
                },
                {
                    "type": "record",
                    "name": "MapValue",
                    "fields": [{"name": "entries", "type": {"type": "map", "values": "Value"}}],
                },
            ],
        }
    ],
}

_PARSED = fastavro.parse_schema(VALUE_SCHEMA)
FINGERPRINT = bytes.fromhex(fingerprint(to_parsing_canonical_form(_PARSED), "CRC-64-AVRO"))
HEADER = b"\xc3\x01" + FINGERPRINT
_HEADER_B64_PREFIX = base64.b64encode(HEADER)[:12].decode()  # "wwHioz3/VYAi"

_BOOL = f"{_NS}.BooleanValue"
_LONG = f"{_NS}.LongValue"
_DOUBLE = f"{_NS}.DoubleValue"
_BYTES = f"{_NS}.BytesValue"
_STRING = f"{_NS}.StringValue"
_ARRAY = f"{_NS}.ArrayValue"
_MAP = f"{_NS}.MapValue"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class PayloadEncodeError(ValueError):
    """A value has no representation in the Avro ``Value`` model."""


class PayloadDecodeError(ValueError):
    """A blob or envelope is not a valid ``avro`` payload."""


def _wrap(value: Any, path: str) -> dict[str, Any]:
    # bool before int: bool is a subclass of int.
    if value is None:
        return {"value": None}
    if isinstance(value, bool):
        return {"value": (_BOOL, {"boolean": value})}
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise PayloadEncodeError(f"integer at {path} does not fit in 64 bits: {value}")
        return {"value": (_LONG, {"long": value})}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PayloadEncodeError(f"non-finite float at {path}: {value!r}")
        return {"value": (_DOUBLE, {"double": value})}
    if isinstance(value, str):
        return {"value": (_STRING, {"string": value})}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"value": (_BYTES, {"bytes": bytes(value)})}
    if isinstance(value, (list, tuple)):
        return {"value": (_ARRAY, {"items": [_wrap(v, f"{path}[{i}]") for i, v in enumerate(value)]})}
    if isinstance(value, dict):
        entries = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise PayloadEncodeError(f"map key at {path} must be a string, got {type(k).__name__}")
            entries[k] = _wrap(v, f"{path}.{k}")
        return {"value": (_MAP, {"entries": entries})}
    raise PayloadEncodeError(
        f"value of type {type(value).__name__} at {path} cannot be encoded; "
        "use str, int, float, bool, None, bytes, list or dict with string keys"
    )


def _unwrap(datum: dict[str, Any]) -> Any:
    value = datum["value"]
    if value is None:
        return None
    name, record = value
    if name == _STRING:
        return record["string"]
    if name == _LONG:
        return record["long"]
    if name == _MAP:
        return {k: _unwrap(v) for k, v in record["entries"].items()}
    if name == _ARRAY:
        return [_unwrap(v) for v in record["items"]]
    if name == _BOOL:
        return record["boolean"]
    if name == _DOUBLE:
        return record["double"]
    if name == _BYTES:
        return record["bytes"]
    raise PayloadDecodeError(f"unknown Value branch {name}")


def encode_bytes(value: Any) -> bytes:
    """Encode ``value`` to framed Avro bytes (header + datum)."""
    buf = io.BytesIO()
    buf.write(HEADER)
    fastavro.schemaless_writer(buf, _PARSED, _wrap(value, "$"))
    return buf.getvalue()


def encode(value: Any) -> str:
    """Encode ``value`` to a base64 blob string."""
    return base64.b64encode(encode_bytes(value)).decode("ascii")


def decode_bytes(data: bytes) -> Any:
    """Decode framed Avro bytes back into plain Python values."""
    if data[:2] != b"\xc3\x01":
        raise PayloadDecodeError("invalid_payload_framing: missing Avro single-object header")
    if data[2:10] != FINGERPRINT:
        raise PayloadDecodeError("unsupported_payload_schema: unknown schema fingerprint")
    buf = io.BytesIO(data)
    buf.seek(10)
    try:
        datum = fastavro.schemaless_reader(buf, _PARSED, return_record_name=True)
    except Exception as exc:  # fastavro raises assorted EOF/struct errors
        raise PayloadDecodeError(f"invalid_payload_framing: {exc}") from exc
    if buf.tell() != len(data):
        raise PayloadDecodeError("invalid_payload_framing: trailing bytes after the datum")
    return _unwrap(datum)  # type: ignore[arg-type]


def decode(blob: str) -> Any:
    """Decode a base64 blob string."""
    if not isinstance(blob, str):
        raise PayloadDecodeError(f"blob must be a string, got {type(blob).__name__}")
    stripped = blob.lstrip()
    if stripped[:1] in ("{", "[", '"'):
        raise PayloadDecodeError("invalid_payload_framing: blob looks like JSON, not base64 Avro")
    try:
        data = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadDecodeError(f"invalid_payload_framing: bad base64: {exc}") from exc
    return decode_bytes(data)


def envelope(value: Any) -> dict[str, str]:
    """Wrap ``value`` as a wire envelope ``{"codec": "avro", "blob": ...}``."""
    return {"codec": AVRO_CODEC, "blob": encode(value)}


def is_envelope(obj: Any) -> bool:
    return isinstance(obj, dict) and "codec" in obj and ("blob" in obj or "external_storage" in obj)


def decode_envelope(obj: Any) -> Any:
    """Decode an envelope, a bare blob string, or ``None`` (which is ``None``)."""
    if obj is None:
        return None
    if isinstance(obj, str):
        return decode(obj)
    if not isinstance(obj, dict):
        raise PayloadDecodeError(f"payload must be an envelope object, got {type(obj).__name__}")
    codec = obj.get("codec")
    if codec != AVRO_CODEC:
        raise PayloadDecodeError(f"unsupported_payload_codec: {codec!r}")
    blob = obj.get("blob")
    if blob is None:
        return None
    return decode(blob)


def validate_envelope(obj: Any, field: str) -> None:
    """Raise PayloadDecodeError naming ``field`` unless ``obj`` is a decodable envelope."""
    if obj is None:
        return
    if not isinstance(obj, dict):
        raise PayloadDecodeError(f"{field} must be a payload envelope object")
    if obj.get("codec") != AVRO_CODEC:
        raise PayloadDecodeError(f"{field}: unsupported_payload_codec {obj.get('codec')!r}")
    if "external_storage" in obj:
        return
    blob = obj.get("blob")
    if blob is not None:
        decode(blob)


def looks_like_blob(text: str) -> bool:
    return text.startswith(_HEADER_B64_PREFIX)
