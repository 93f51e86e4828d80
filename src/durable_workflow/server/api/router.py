"""A small route table: ``(method, "/api/a/{param}/b")`` -> handler, with per-segment URL decoding."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from .errors import ApiError

if TYPE_CHECKING:
    from .call import Call

Plane = Literal["control", "worker", "discovery", "open"]
Handler = Callable[["Call"], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    plane: Plane
    roles: frozenset[str] | None  # None: no authentication
    namespaced: bool = True  # the X-Namespace must exist

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.pattern.strip("/").split("/"))


class Router:
    def __init__(self, routes: Sequence[Route]) -> None:
        # Bucket by segment count: a lookup compares only routes of the right length.
        self._by_len: dict[int, list[tuple[Route, tuple[str, ...]]]] = {}
        for route in routes:
            segs = route.segments
            self._by_len.setdefault(len(segs), []).append((route, segs))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for ``method path`` and its decoded parameters; 404/405 ApiError otherwise."""
        parts = path.split("?", 1)[0].strip("/").split("/")
        allowed: list[str] = []
        for route, segs in self._by_len.get(len(parts), ()):
            params = _bind(segs, parts)
            if params is None:
                continue
            if route.method == method.upper():
                return route, params
            allowed.append(route.method)
        if allowed:
            raise ApiError(
                405,
                "method_not_allowed",
                f"{method.upper()} is not allowed on {path}; allowed: {', '.join(sorted(set(allowed)))}",
                allowed_methods=sorted(set(allowed)),
            )
        raise ApiError(404, "route_not_found", f"No route for {method.upper()} {path}.")


def _bind(segs: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for seg, part in zip(segs, parts, strict=True):
        if seg.startswith("{"):
            if not part:
                return None
            params[seg[1:-1]] = unquote(part)
        elif seg != part:
            return None
    return params
