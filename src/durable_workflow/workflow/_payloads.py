"""Reading payloads out of history: Avro always, the pre-2.0 JSON codec for old histories.

The SDK only ever *writes* Avro. On read, the task's codec decides how strict we are:

* ``"avro"``: every tag must be ``avro`` and every bare blob Avro-framed (2.x servers).
* ``None`` (auto) or ``"json"``: tags may also say ``json``; an untagged bare blob that is not
  Avro-framed is JSON text written by a pre-2.0 SDK.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import WorkflowPayloadDecodeError
from ..protocol import codec

__all__ = ["PayloadReader"]

_JSON = "json"
_READABLE = frozenset({codec.AVRO_CODEC, _JSON})


def _unsupported(tag: object, where: str) -> WorkflowPayloadDecodeError:
    shown = "missing" if tag is None else repr(tag)
    return WorkflowPayloadDecodeError(
        f"unsupported_payload_codec: {where} payload codec {shown} is not supported; "
        "Durable Workflow 2.x payloads use codec 'avro'",
        codec=tag,
    )


class PayloadReader:
    """Decodes history values according to the task's codec mode."""

    __slots__ = ("strict",)

    def __init__(self, task_codec: str | None) -> None:
        if task_codec is not None and task_codec not in _READABLE:
            raise _unsupported(task_codec, "task")
        self.strict = task_codec == codec.AVRO_CODEC

    def check_tag(self, event_payload: dict[str, Any], where: str) -> None:
        """Reject an explicit ``payload_codec`` tag this mode cannot read."""
        if "payload_codec" not in event_payload:
            return
        tag = event_payload["payload_codec"]
        if tag is None and not self.strict:
            return
        if tag == codec.AVRO_CODEC or (tag == _JSON and not self.strict):
            return
        raise _unsupported(tag, where)

    def decode(self, value: Any, event_payload: dict[str, Any], where: str) -> Any:
        """Decode an envelope, a bare blob or ``None`` found in ``event_payload``."""
        if value is None:
            return None
        try:
            if isinstance(value, dict):
                return self._envelope(value, where)
            if isinstance(value, str):
                self.check_tag(event_payload, where)
                tag = event_payload.get("payload_codec")
                if tag == _JSON:
                    return json.loads(value)
                if tag == codec.AVRO_CODEC or self.strict or codec.looks_like_blob(value):
                    return codec.decode(value)
                return json.loads(value)
        except WorkflowPayloadDecodeError:
            raise
        except ValueError as exc:  # PayloadDecodeError and JSONDecodeError are both ValueErrors
            raise WorkflowPayloadDecodeError(f"{where} payload decode failed: {exc}") from exc
        raise WorkflowPayloadDecodeError(
            f"{where} payload must be an envelope or a blob, got {type(value).__name__}"
        )

    def _envelope(self, env: dict[str, Any], where: str) -> Any:
        tag = env.get("codec")
        if "external_storage" in env or "external_payload" in env:
            raise WorkflowPayloadDecodeError(
                f"{where} payload is stored externally; external storage is not supported"
            )
        blob = env.get("blob")
        if tag == codec.AVRO_CODEC:
            return None if blob is None else codec.decode(blob)
        if tag == _JSON and not self.strict:
            return None if blob is None else json.loads(blob)
        raise _unsupported(tag, where)

    def decode_args(self, value: Any, event_payload: dict[str, Any], where: str) -> list[Any]:
        """Decode an argument list; a single non-list value becomes a one-element list."""
        decoded = self.decode(value, event_payload, where)
        if decoded is None:
            return []
        return decoded if isinstance(decoded, list) else [decoded]
