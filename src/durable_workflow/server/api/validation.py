"""Request-body checks that collect every problem, then fail once with 422 and ``errors``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ...protocol import codec
from .errors import ApiError, validation_error

ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]+$")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_MISSING: Any = object()


class BodyReader:
    """Typed access to a JSON body; each accessor records a message instead of raising."""

    def __init__(
        self, body: Any, *, max_payload_bytes: int, allowed: Iterable[str] | None = None
    ) -> None:
        self.errors: dict[str, list[str]] = {}
        self.max_payload_bytes = max_payload_bytes
        if body is None:
            body = {}
        if not isinstance(body, dict):
            self.body: dict[str, Any] = {}
            self.errors["body"] = [f"must be a JSON object, got {type(body).__name__}"]
            return
        self.body = body
        if allowed is not None:
            allowed_set = set(allowed)
            for key in body:
                if key not in allowed_set:
                    self.errors.setdefault(key, []).append("is not a supported field")

    def _err(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def _get(self, name: str, required: bool) -> Any:
        value = self.body.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self._err(name, "is required")
            return _MISSING
        return value

    def string(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int = 255,
        pattern: re.Pattern[str] | None = None,
        pattern_hint: str = "",
    ) -> str | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self._err(name, f"must be a string, got {type(value).__name__}")
            return None
        if not value:
            self._err(name, "must not be empty")
        elif len(value) > max_length:
            self._err(name, f"must be at most {max_length} characters")
        elif pattern is not None and not pattern.match(value):
            self._err(name, f"may only contain {pattern_hint or pattern.pattern}")
        elif pattern is None and _CONTROL_CHARS.search(value):
            self._err(name, "must not contain control characters")
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self._err(name, f"must be an integer, got {type(value).__name__}")
            return None
        if minimum is not None and value < minimum:
            self._err(name, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            self._err(name, f"must be at most {maximum}")
        return value

    def obj(self, name: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self._err(name, f"must be an object, got {type(value).__name__}")
            return None
        return value

    def any(self, name: str) -> Any:
        value = self.body.get(name)
        return value

    def str_list(self, name: str) -> list[str] | None:
        value = self._get(name, False)
        if value is _MISSING:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self._err(name, "must be a list of strings")
            return None
        return value

    def one_of(
        self, name: str, choices: Iterable[str], *, default: str | None = None
    ) -> str | None:
        options = list(choices)
        value = self._get(name, False)
        if value is _MISSING:
            return default
        if value not in options:
            self._err(name, f"must be one of {', '.join(options)} (got {value!r})")
            return default
        return str(value)

    def envelope(self, name: str, *, required: bool = False, allow_list: bool = False) -> Any:
        """A payload envelope, validated and size-checked; a plain JSON list becomes an envelope."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if allow_list and isinstance(value, list):
            try:
                value = codec.envelope(value)
            except codec.PayloadEncodeError as exc:
                self._err(name, f"cannot be encoded as an avro payload: {exc}")
                return None
        check_payload_size(value, name, self.max_payload_bytes)
        try:
            codec.validate_envelope(value, name)
        except codec.PayloadDecodeError as exc:
            self._err(name, f"is not a valid payload envelope: {exc}")
            return None
        return value

    def finish(self) -> None:
        if self.errors:
            raise validation_error(self.errors)


def check_payload_size(value: Any, field: str, limit: int) -> None:
    """422 ``payload_too_large`` (the SDK's InvalidArgument) when a blob is over ``limit`` bytes of base64 text."""
    blob = (
        value.get("blob") if isinstance(value, dict) else value if isinstance(value, str) else None
    )
    if isinstance(blob, str) and len(blob) > limit:
        raise ApiError(
            422,
            "payload_too_large",
            f"{field} is {len(blob)} bytes; the server accepts payloads up to {limit} bytes",
            errors={field: [f"must be at most {limit} bytes (got {len(blob)})"]},
            limit_bytes=limit,
        )


def check_nested_payload_sizes(value: Any, path: str, limit: int) -> None:
    """Size-check every envelope (and bare side-effect blob) nested anywhere in ``value``."""
    if isinstance(value, dict):
        if "codec" in value and "blob" in value:
            check_payload_size(value, path, limit)
            return
        for key, item in value.items():
            check_nested_payload_sizes(item, f"{path}.{key}", limit)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_nested_payload_sizes(item, f"{path}.{i}", limit)
    elif isinstance(value, str) and len(value) > limit:
        check_payload_size(value, path, limit)
