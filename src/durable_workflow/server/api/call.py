"""What a handler receives: the request, its route parameters, namespace and the engine."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .types import ApiRequest
from .validation import BodyReader

if TYPE_CHECKING:
    from ..engine.service import Engine
    from .settings import ApiSettings


@dataclass(slots=True)
class Call:
    request: ApiRequest
    params: dict[str, str]
    namespace: str
    engine: Engine
    settings: ApiSettings

    def reader(self, allowed: Iterable[str] | None = None) -> BodyReader:
        return BodyReader(
            self.request.body, max_payload_bytes=self.settings.max_payload_bytes, allowed=allowed
        )

    def query(self, name: str) -> str | None:
        value: Any = self.request.query.get(name)
        return value if isinstance(value, str) and value != "" else None
