"""Version 2: the tables of the lite decorator API (``durable_workflow.lite``, seed 004).

``lite_runs`` holds one row per durable-function run with its lease; ``lite_steps`` one row
per checkpointed task call. Frozen SQL, identical in shape for both dialects.
"""

from __future__ import annotations

from typing import Final

_SQLITE: Final[tuple[str, ...]] = (
    "CREATE TABLE lite_runs (app TEXT NOT NULL, run_id TEXT NOT NULL, workflow_name TEXT NOT NULL, status TEXT NOT NULL, lease_owner TEXT, lease_expires_at REAL, result TEXT, error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (app, run_id))",
    "CREATE INDEX lite_runs_list ON lite_runs (app, created_at)",
    "CREATE INDEX lite_runs_by_id ON lite_runs (run_id)",
    "CREATE TABLE lite_steps (app TEXT NOT NULL, run_id TEXT NOT NULL, step_key TEXT NOT NULL, status TEXT NOT NULL, result TEXT, attempts INTEGER NOT NULL, error TEXT, updated_at REAL NOT NULL, PRIMARY KEY (app, run_id, step_key))",
)

_POSTGRES: Final[tuple[str, ...]] = (
    "CREATE TABLE lite_runs (app TEXT NOT NULL, run_id TEXT NOT NULL, workflow_name TEXT NOT NULL, status TEXT NOT NULL, lease_owner TEXT, lease_expires_at DOUBLE PRECISION, result JSONB, error TEXT, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (app, run_id))",
    "CREATE INDEX lite_runs_list ON lite_runs (app, created_at)",
    "CREATE INDEX lite_runs_by_id ON lite_runs (run_id)",
    "CREATE TABLE lite_steps (app TEXT NOT NULL, run_id TEXT NOT NULL, step_key TEXT NOT NULL, status TEXT NOT NULL, result JSONB, attempts BIGINT NOT NULL, error TEXT, updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (app, run_id, step_key))",
)


def statements(dialect: str) -> list[str]:
    return list({"sqlite": _SQLITE, "postgres": _POSTGRES}[dialect])
