"""Delays between task retries: ``exponential``, ``linear`` and ``constant``.

A backoff is any callable taking the retry number (1 for the first retry) and returning
the delay in seconds before that retry::

    exponential(base=2, max=60)   # 2, 4, 8, 16, 32, 60, 60, ...
    linear(start=2, step=3)       # 2, 5, 8, 11, ...
    constant(5)                   # 5, 5, 5, ...
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .errors import InvalidArgumentError

__all__ = ["Backoff", "Constant", "Exponential", "Linear", "constant", "exponential", "linear"]

Backoff = Callable[[int], float]
"""Retry number (1-based) -> seconds to wait before that retry."""


def _seconds(name: str, value: object, *, positive: bool = False) -> float:
    # bool is an int subclass; backoff(True) is almost certainly a mistake.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{name} must be a number of seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise InvalidArgumentError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


def _retry_number(retry: int) -> int:
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 1:
        raise InvalidArgumentError(f"retry number must be an int >= 1, got {retry!r}")
    return retry


@dataclass(frozen=True, slots=True)
class Exponential:
    """``min(base ** retry, max)`` seconds."""

    base: float
    max: float

    def __call__(self, retry: int) -> float:
        n = _retry_number(retry)
        # Compare in log space: base ** 10_000 overflows a float long before max matters.
        if self.base > 1 and n * math.log(self.base) >= math.log(self.max or 1e-300):
            return self.max
        return min(self.base**n, self.max)


@dataclass(frozen=True, slots=True)
class Linear:
    """``start + step * (retry - 1)`` seconds."""

    start: float
    step: float

    def __call__(self, retry: int) -> float:
        return self.start + self.step * (_retry_number(retry) - 1)


@dataclass(frozen=True, slots=True)
class Constant:
    """The same delay before every retry."""

    delay: float

    def __call__(self, retry: int) -> float:
        _retry_number(retry)
        return self.delay


def exponential(base: float = 2, max: float = 60) -> Exponential:
    """Delays ``base**1, base**2, ...`` capped at ``max`` seconds (2, 4, 8, 16, 32 for the defaults)."""
    return Exponential(
        _seconds("exponential base", base, positive=True), _seconds("exponential max", max)
    )


def linear(start: float = 1, step: float = 1) -> Linear:
    """Delays ``start, start + step, start + 2*step, ...`` seconds."""
    return Linear(_seconds("linear start", start), _seconds("linear step", step))


def constant(delay: float) -> Constant:
    """The same ``delay`` seconds before every retry."""
    return Constant(_seconds("constant delay", delay))
