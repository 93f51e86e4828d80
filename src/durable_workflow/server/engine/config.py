"""Engine tunables (a subset of ``ServerConfig``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EngineConfig:
    workflow_task_lease_seconds: float = 60.0
    activity_lease_seconds: float = 300.0
    max_poll_seconds: float = 60.0
    history_page_size_default: int = 500
    history_page_size_max: int = 1000
    workflow_task_retry_base_seconds: float = 1.0
    workflow_task_retry_cap_seconds: float = 60.0
    sweep_batch: int = 200
