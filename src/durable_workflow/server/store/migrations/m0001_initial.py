"""Version 1: the tables of ``schema.py`` as first released.

Generated from ``schema.py`` for the tables that version 1 created; those tables must
not change shape in ``schema.py`` any more (later versions add tables, or ALTER in their
own step). ``tests/unit/server/test_schema.py`` compares a migrated database against
``schema.py``.
"""

from __future__ import annotations

from .. import schema

V1_TABLES = (
    "schema_version",
    "namespaces",
    "workflows",
    "runs",
    "history_events",
    "run_inbox",
    "workflow_tasks",
    "activity_tasks",
    "timers",
    "workers",
    "signal_requests",
)


def statements(dialect: str) -> list[str]:
    out: list[str] = []
    for table in schema.TABLES:
        if table.name in V1_TABLES:
            out.extend(schema.table_ddl(table, dialect))
    return out
