"""Backoff schedules: the README's examples, exactly, and bad parameters."""

from __future__ import annotations

import math

import pytest

from durable.backoff import constant, exponential, linear
from durable_workflow.lite import InvalidArgumentError


def schedule(backoff: object, retries: int) -> list[float]:
    assert callable(backoff)
    return [backoff(n) for n in range(1, retries + 1)]


def test_readme_schedules() -> None:
    assert schedule(exponential(base=2, max=60), 5) == [2, 4, 8, 16, 32]
    assert schedule(linear(start=2, step=3), 3) == [2, 5, 8]
    assert schedule(constant(5), 3) == [5, 5, 5]


def test_exponential_is_capped_without_overflow() -> None:
    assert schedule(exponential(base=2, max=60), 8)[-3:] == [60, 60, 60]
    assert exponential(base=10, max=3600)(10_000) == 3600
    assert exponential()(1) == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda: exponential(base=0),
        lambda: exponential(base=-2),
        lambda: exponential(max=-1),
        lambda: exponential(max=math.inf),
        lambda: linear(start=-1),
        lambda: linear(step=math.nan),
        lambda: constant(-5),
        lambda: constant("5"),
        lambda: constant(True),
    ],
)
def test_bad_parameters_are_named(make: object) -> None:
    assert callable(make)
    with pytest.raises(InvalidArgumentError, match=r"(exponential|linear|constant) \w+ must be"):
        make()


def test_retry_number_is_checked() -> None:
    with pytest.raises(InvalidArgumentError, match="retry number"):
        constant(1)(0)
