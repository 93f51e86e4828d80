"""Version 1: every table of the server as first released.

Frozen SQL (it was generated from ``schema.TABLES`` while version 1 was the only version),
so that later edits of ``schema.py`` never rewrite what an existing database went through.
``tests/unit/server/test_schema.py`` checks that the migrations together build ``schema.py``.
"""

from __future__ import annotations

from typing import Final

_SQLITE: Final[tuple[str, ...]] = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL, PRIMARY KEY (version))",
    "CREATE TABLE namespaces (name TEXT NOT NULL, description TEXT, retention_days INTEGER, status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (name))",
    "CREATE TABLE workflows (namespace TEXT NOT NULL, workflow_id TEXT NOT NULL, current_run_id TEXT NOT NULL, run_count INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (namespace, workflow_id))",
    "CREATE TABLE runs (run_id TEXT NOT NULL, namespace TEXT NOT NULL, workflow_id TEXT NOT NULL, run_number INTEGER NOT NULL, workflow_type TEXT NOT NULL, task_queue TEXT NOT NULL, status TEXT NOT NULL, closed_reason TEXT, input TEXT, output TEXT, memo TEXT, search_attributes TEXT, business_key TEXT, build_id TEXT, priority INTEGER, started_at REAL NOT NULL, closed_at REAL, last_progress_at REAL, execution_timeout_seconds INTEGER, run_timeout_seconds INTEGER, execution_deadline_at REAL, run_deadline_at REAL, deadline_at REAL, last_sequence INTEGER NOT NULL, last_event_sequence INTEGER NOT NULL, open_wait TEXT, task_pending INTEGER NOT NULL, wft_failures INTEGER NOT NULL, last_wft_failure TEXT, continued_from_run_id TEXT, continued_to_run_id TEXT, PRIMARY KEY (run_id))",
    "CREATE UNIQUE INDEX runs_instance ON runs (namespace, workflow_id, run_number)",
    "CREATE INDEX runs_deadline ON runs (deadline_at) WHERE deadline_at IS NOT NULL",
    "CREATE INDEX runs_list ON runs (namespace, started_at)",
    "CREATE TABLE history_events (run_id TEXT NOT NULL, sequence INTEGER NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL, recorded_at REAL NOT NULL, payload TEXT NOT NULL, workflow_task_id TEXT, PRIMARY KEY (run_id, sequence))",
    "CREATE TABLE run_inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, event_type TEXT NOT NULL, payload TEXT NOT NULL, recorded_at REAL NOT NULL, wakes INTEGER NOT NULL, wait_id TEXT)",
    "CREATE INDEX run_inbox_run ON run_inbox (run_id, id)",
    "CREATE TABLE workflow_tasks (task_id TEXT NOT NULL, namespace TEXT NOT NULL, run_id TEXT NOT NULL, workflow_id TEXT NOT NULL, workflow_type TEXT NOT NULL, task_queue TEXT NOT NULL, status TEXT NOT NULL, attempt INTEGER NOT NULL, visible_at REAL NOT NULL, lease_owner TEXT, lease_expires_at REAL, poll_request_id TEXT, created_at REAL NOT NULL, finished_at REAL, outcome TEXT, failure TEXT, PRIMARY KEY (task_id))",
    "CREATE INDEX wft_queue ON workflow_tasks (namespace, task_queue, status, visible_at)",
    "CREATE INDEX wft_lease ON workflow_tasks (status, lease_expires_at)",
    "CREATE INDEX wft_delayed ON workflow_tasks (status, visible_at)",
    "CREATE INDEX wft_run ON workflow_tasks (run_id, status)",
    "CREATE INDEX wft_poll ON workflow_tasks (poll_request_id) WHERE poll_request_id IS NOT NULL",
    "CREATE INDEX wft_owner ON workflow_tasks (namespace, lease_owner, status)",
    "CREATE TABLE activity_tasks (task_id TEXT NOT NULL, namespace TEXT NOT NULL, run_id TEXT NOT NULL, workflow_id TEXT NOT NULL, workflow_type TEXT NOT NULL, sequence INTEGER NOT NULL, activity_type TEXT NOT NULL, task_queue TEXT NOT NULL, status TEXT NOT NULL, arguments TEXT, retry_policy TEXT, start_to_close_timeout INTEGER, schedule_to_start_timeout INTEGER, schedule_to_close_timeout INTEGER, heartbeat_timeout INTEGER, attempt_number INTEGER NOT NULL, attempt_id TEXT, lease_owner TEXT, lease_expires_at REAL, attempt_started_at REAL, visible_at REAL NOT NULL, scheduled_at REAL NOT NULL, first_scheduled_at REAL NOT NULL, deadline_at REAL, last_heartbeat_at REAL, heartbeat_details TEXT, group_id TEXT, group_meta TEXT, poll_request_id TEXT, last_failure TEXT, finished_at REAL, PRIMARY KEY (task_id))",
    "CREATE INDEX act_queue ON activity_tasks (namespace, task_queue, status, visible_at)",
    "CREATE INDEX act_lease ON activity_tasks (status, lease_expires_at)",
    "CREATE INDEX act_delayed ON activity_tasks (status, visible_at)",
    "CREATE INDEX act_deadline ON activity_tasks (deadline_at) WHERE deadline_at IS NOT NULL",
    "CREATE INDEX act_run ON activity_tasks (run_id, status)",
    "CREATE INDEX act_group ON activity_tasks (run_id, group_id) WHERE group_id IS NOT NULL",
    "CREATE INDEX act_poll ON activity_tasks (poll_request_id) WHERE poll_request_id IS NOT NULL",
    "CREATE TABLE timers (timer_id TEXT NOT NULL, namespace TEXT NOT NULL, run_id TEXT NOT NULL, sequence INTEGER NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, fire_at REAL NOT NULL, condition_wait_id TEXT, group_id TEXT, event_payload TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (timer_id))",
    "CREATE INDEX timers_due ON timers (status, fire_at)",
    "CREATE INDEX timers_run ON timers (run_id, status)",
    "CREATE INDEX timers_group ON timers (run_id, group_id) WHERE group_id IS NOT NULL",
    "CREATE TABLE workers (namespace TEXT NOT NULL, worker_id TEXT NOT NULL, task_queue TEXT, runtime TEXT, sdk_version TEXT, build_id TEXT, supported_workflow_types TEXT, supported_activity_types TEXT, workflow_command_contracts TEXT, capabilities TEXT, details TEXT, registered_at REAL NOT NULL, updated_at REAL NOT NULL, last_heartbeat_at REAL, PRIMARY KEY (namespace, worker_id))",
    "CREATE TABLE signal_requests (namespace TEXT NOT NULL, workflow_id TEXT NOT NULL, request_id TEXT NOT NULL, fingerprint TEXT NOT NULL, receipt TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (namespace, workflow_id, request_id))",
)

_POSTGRES: Final[tuple[str, ...]] = (
    "CREATE TABLE schema_version (version BIGINT NOT NULL, PRIMARY KEY (version))",
    "CREATE TABLE namespaces (name TEXT NOT NULL, description TEXT, retention_days BIGINT, status TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (name))",
    "CREATE TABLE workflows (namespace TEXT NOT NULL, workflow_id TEXT NOT NULL, current_run_id TEXT NOT NULL, run_count BIGINT NOT NULL, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (namespace, workflow_id))",
    "CREATE TABLE runs (run_id TEXT NOT NULL, namespace TEXT NOT NULL, workflow_id TEXT NOT NULL, run_number BIGINT NOT NULL, workflow_type TEXT NOT NULL, task_queue TEXT NOT NULL, status TEXT NOT NULL, closed_reason TEXT, input JSONB, output JSONB, memo JSONB, search_attributes JSONB, business_key TEXT, build_id TEXT, priority BIGINT, started_at DOUBLE PRECISION NOT NULL, closed_at DOUBLE PRECISION, last_progress_at DOUBLE PRECISION, execution_timeout_seconds BIGINT, run_timeout_seconds BIGINT, execution_deadline_at DOUBLE PRECISION, run_deadline_at DOUBLE PRECISION, deadline_at DOUBLE PRECISION, last_sequence BIGINT NOT NULL, last_event_sequence BIGINT NOT NULL, open_wait JSONB, task_pending BOOLEAN NOT NULL, wft_failures BIGINT NOT NULL, last_wft_failure JSONB, continued_from_run_id TEXT, continued_to_run_id TEXT, PRIMARY KEY (run_id))",
    "CREATE UNIQUE INDEX runs_instance ON runs (namespace, workflow_id, run_number)",
    "CREATE INDEX runs_deadline ON runs (deadline_at) WHERE deadline_at IS NOT NULL",
    "CREATE INDEX runs_list ON runs (namespace, started_at)",
    "CREATE TABLE history_events (run_id TEXT NOT NULL, sequence BIGINT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL, recorded_at DOUBLE PRECISION NOT NULL, payload JSONB NOT NULL, workflow_task_id TEXT, PRIMARY KEY (run_id, sequence))",
    "CREATE TABLE run_inbox (id BIGSERIAL NOT NULL, run_id TEXT NOT NULL, event_type TEXT NOT NULL, payload JSONB NOT NULL, recorded_at DOUBLE PRECISION NOT NULL, wakes BOOLEAN NOT NULL, wait_id TEXT, PRIMARY KEY (id))",
    "CREATE INDEX run_inbox_run ON run_inbox (run_id, id)",
    "CREATE TABLE workflow_tasks (task_id TEXT NOT NULL, namespace TEXT NOT NULL, run_id TEXT NOT NULL, workflow_id TEXT NOT NULL, workflow_type TEXT NOT NULL, task_queue TEXT NOT NULL, status TEXT NOT NULL, attempt BIGINT NOT NULL, visible_at DOUBLE PRECISION NOT NULL, lease_owner TEXT, lease_expires_at DOUBLE PRECISION, poll_request_id TEXT, created_at DOUBLE PRECISION NOT NULL, finished_at DOUBLE PRECISION, outcome JSONB, failure JSONB, PRIMARY KEY (task_id))",
    "CREATE INDEX wft_queue ON workflow_tasks (namespace, task_queue, status, visible_at)",
    "CREATE INDEX wft_lease ON workflow_tasks (status, lease_expires_at)",
    "CREATE INDEX wft_delayed ON workflow_tasks (status, visible_at)",
    "CREATE INDEX wft_run ON workflow_tasks (run_id, status)",
    "CREATE INDEX wft_poll ON workflow_tasks (poll_request_id) WHERE poll_request_id IS NOT NULL",
    "CREATE INDEX wft_owner ON workflow_tasks (namespace, lease_owner, status)",
    "CREATE TABLE activity_tasks (task_id TEXT NOT NULL, namespace TEXT NOT NULL, run_id TEXT NOT NULL, workflow_id TEXT NOT NULL, workflow_type TEXT NOT NULL, sequence BIGINT NOT NULL, activity_type TEXT NOT NULL, task_queue TEXT NOT NULL, status TEXT NOT NULL, arguments JSONB, retry_policy JSONB, start_to_close_timeout BIGINT, schedule_to_start_timeout BIGINT, schedule_to_close_timeout BIGINT, heartbeat_timeout BIGINT, attempt_number BIGINT NOT NULL, attempt_id TEXT, lease_owner TEXT, lease_expires_at DOUBLE PRECISION, attempt_started_at DOUBLE PRECISION, visible_at DOUBLE PRECISION NOT NULL, scheduled_at DOUBLE PRECISION NOT NULL, first_scheduled_at DOUBLE PRECISION NOT NULL, deadline_at DOUBLE PRECISION, last_heartbeat_at DOUBLE PRECISION, heartbeat_details JSONB, group_id TEXT, group_meta JSONB, poll_request_id TEXT, last_failure JSONB, finished_at DOUBLE PRECISION, PRIMARY KEY (task_id))",
    "CREATE INDEX act_queue ON activity_tasks (namespace, task_queue, status, visible_at)",
    "CREATE INDEX act_lease ON activity_tasks (status, lease_expires_at)",
    "CREATE INDEX act_delayed ON activity_tasks (status, visible_at)",
    "CREATE INDEX act_deadline ON activity_tasks (deadline_at) WHERE deadline_at IS NOT NULL",
    "CREATE INDEX act_run ON activity_tasks (run_id, status)",
    "CREATE INDEX act_group ON activity_tasks (run_id, group_id) WHERE group_id IS NOT NULL",
    "CREATE INDEX act_poll ON activity_tasks (poll_request_id) WHERE poll_request_id IS NOT NULL",
    "CREATE TABLE timers (timer_id TEXT NOT NULL, namespace TEXT NOT NULL, run_id TEXT NOT NULL, sequence BIGINT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, fire_at DOUBLE PRECISION NOT NULL, condition_wait_id TEXT, group_id TEXT, event_payload JSONB NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (timer_id))",
    "CREATE INDEX timers_due ON timers (status, fire_at)",
    "CREATE INDEX timers_run ON timers (run_id, status)",
    "CREATE INDEX timers_group ON timers (run_id, group_id) WHERE group_id IS NOT NULL",
    "CREATE TABLE workers (namespace TEXT NOT NULL, worker_id TEXT NOT NULL, task_queue TEXT, runtime TEXT, sdk_version TEXT, build_id TEXT, supported_workflow_types JSONB, supported_activity_types JSONB, workflow_command_contracts JSONB, capabilities JSONB, details JSONB, registered_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, last_heartbeat_at DOUBLE PRECISION, PRIMARY KEY (namespace, worker_id))",
    "CREATE TABLE signal_requests (namespace TEXT NOT NULL, workflow_id TEXT NOT NULL, request_id TEXT NOT NULL, fingerprint TEXT NOT NULL, receipt JSONB NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (namespace, workflow_id, request_id))",
)


def statements(dialect: str) -> list[str]:
    return list({"sqlite": _SQLITE, "postgres": _POSTGRES}[dialect])
