"""Retry policies.

Two different things retry:

* ``ActivityRetryPolicy`` / ``ChildWorkflowRetryPolicy`` are *durable* budgets. They travel with
  the ``schedule_activity`` / ``start_child_workflow`` command and the server snaps them onto the
  execution, so a later deploy cannot change the budget of work already scheduled.
* ``TransportRetryPolicy`` only governs how the SDK re-sends an HTTP request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ActivityRetryPolicy",
    "ChildWorkflowRetryPolicy",
    "TransportRetryPolicy",
    "retry_policy_to_wire",
]


@dataclass
class ActivityRetryPolicy:
    """Durable retry budget for one scheduled activity call.

    ``backoff_seconds`` overrides the exponential schedule with explicit delays
    (one per retry); otherwise delay ``i`` is
    ``initial_interval_seconds * backoff_coefficient ** i``, capped by
    ``maximum_interval_seconds`` and rounded up to whole seconds (the server's resolution).
    """

    max_attempts: int = 3
    initial_interval_seconds: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float | None = None
    non_retryable_error_types: list[str] = field(default_factory=list)
    backoff_seconds: list[float] | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_interval_seconds < 0:
            raise ValueError("initial_interval_seconds must not be negative")
        if self.backoff_coefficient < 1:
            raise ValueError("backoff_coefficient must be at least 1")
        if self.maximum_interval_seconds is not None and self.maximum_interval_seconds < 0:
            raise ValueError("maximum_interval_seconds must not be negative")

    def delays(self) -> list[int]:
        """The ``max_attempts - 1`` whole-second delays between attempts."""
        retries = self.max_attempts - 1
        if self.backoff_seconds is not None:
            explicit = [self._whole(s) for s in self.backoff_seconds]
            # A short explicit list repeats its last delay for the remaining retries.
            while explicit and len(explicit) < retries:
                explicit.append(explicit[-1])
            return explicit[:retries]
        return [
            self._whole(self.initial_interval_seconds * self.backoff_coefficient**i)
            for i in range(retries)
        ]

    def _whole(self, seconds: float) -> int:
        if self.maximum_interval_seconds is not None:
            seconds = min(seconds, self.maximum_interval_seconds)
        return max(0, math.ceil(seconds))

    def to_dict(self) -> dict[str, Any]:
        """The wire ``retry_policy`` object (worker-plane.md §5)."""
        return {
            "max_attempts": self.max_attempts,
            "backoff_seconds": self.delays(),
            "non_retryable_error_types": list(self.non_retryable_error_types),
        }


@dataclass
class ChildWorkflowRetryPolicy(ActivityRetryPolicy):
    """Durable retry budget for one started child workflow."""


@dataclass
class TransportRetryPolicy:
    """How the SDK retries one HTTP request (connection errors, 429/5xx).

    Delay of retry ``n`` (0-based) is ``min(max_backoff, initial_backoff * 2**n)``,
    spread by ``±jitter`` (a fraction of the delay).
    """

    max_attempts: int = 3
    initial_backoff_seconds: float = 0.1
    max_backoff_seconds: float = 5.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def backoff(self, retry: int, rand: float = 0.5) -> float:
        """Delay before retry ``retry`` (0-based); ``rand`` in [0, 1) picks the jitter."""
        base = min(self.max_backoff_seconds, self.initial_backoff_seconds * (2**retry))
        return max(0.0, float(base * (1 + self.jitter * (2 * rand - 1))))


def retry_policy_to_wire(
    policy: ActivityRetryPolicy | Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """A policy object becomes its wire dict; a user mapping is sent verbatim."""
    if policy is None:
        return None
    if isinstance(policy, ActivityRetryPolicy):
        return policy.to_dict()
    return dict(policy)
