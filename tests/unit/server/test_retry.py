from __future__ import annotations

from durable_workflow.server.engine.config import EngineConfig
from durable_workflow.server.engine.leases import decide_retry, workflow_task_backoff

POLICY = {"max_attempts": 3, "backoff_seconds": [1, 5], "non_retryable_error_types": ["ValueError"]}


def test_no_policy_means_one_attempt() -> None:
    assert not decide_retry(None, 1, {}).retry
    assert not decide_retry({}, 1, {}).retry


def test_backoff_by_attempt_then_exhaustion() -> None:
    assert decide_retry(POLICY, 1, {"type": "IOError"}).delay_seconds == 1
    assert decide_retry(POLICY, 2, {"type": "IOError"}).delay_seconds == 5
    last = decide_retry(POLICY, 3, {"type": "IOError"})
    assert not last.retry and last.reason == "max_attempts_exhausted"


def test_backoff_list_shorter_than_attempts_repeats_its_last_entry() -> None:
    policy = {"max_attempts": None, "backoff_seconds": [2]}
    assert [decide_retry(policy, n, {}).delay_seconds for n in (1, 5, 50)] == [2, 2, 2]


def test_non_retryable_flag_and_types() -> None:
    assert decide_retry(POLICY, 1, {"non_retryable": True}).reason == "non_retryable"
    assert decide_retry(POLICY, 1, {"type": "ValueError"}).reason == "non_retryable_error_type"
    assert decide_retry(POLICY, 1, {"class": "ValueError"}).reason == "non_retryable_error_type"


def test_exponential_policy_form() -> None:
    policy = {
        "max_attempts": 10,
        "initial_interval_seconds": 1,
        "backoff_coefficient": 2,
        "maximum_interval_seconds": 5,
    }
    assert [decide_retry(policy, n, {}).delay_seconds for n in (1, 2, 3, 4)] == [1, 2, 4, 5]


def test_workflow_task_backoff_doubles_to_cap() -> None:
    cfg = EngineConfig()
    assert [workflow_task_backoff(n, cfg) for n in (1, 2, 3, 7, 8, 20)] == [1, 2, 4, 60, 60, 60]
