"""Time source of the engine. Times are float epoch seconds (UTC)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "FakeClock", "RealClock", "rfc3339"]


class Clock(Protocol):
    def now(self) -> float:
        """Current time, epoch seconds."""
        ...

    def on_jump(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when time moves other than by waiting (fake clocks only)."""
        ...


class RealClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()

    def on_jump(self, callback: Callable[[], None]) -> None:
        return None


class FakeClock:
    """A clock that only moves when told to; the sweeper re-checks due work on each move."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        return self._now

    def on_jump(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def advance(self, seconds: float) -> None:
        """Move time forward and wake whoever sleeps on it."""
        if seconds < 0:
            raise ValueError("a FakeClock cannot go backwards")
        self._now += seconds
        for cb in list(self._listeners):
            cb()


def rfc3339(ts: float | None) -> str | None:
    """``2026-04-22T04:30:00.000000Z`` (six fraction digits, UTC), the protocol's one timestamp form."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
