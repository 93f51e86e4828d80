"""Version 4: the tables of the lite decorator API (``durable_workflow.lite``, seed 004).

``lite_runs``: one row per durable-function run, with its lease; ``lite_steps``: one row per
checkpointed task call. New tables only, so older databases upgrade by creating them.
"""

from __future__ import annotations

from .. import schema


def statements(dialect: str) -> list[str]:
    out: list[str] = []
    for table in (schema.LITE_RUNS, schema.LITE_STEPS):
        out.extend(schema.table_ddl(table, dialect))
    return out
