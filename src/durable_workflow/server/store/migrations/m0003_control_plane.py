"""Version 3: the control plane's tables (schedules and their audit history, search-attribute
definitions, namespace settings, build-id cohorts, run archives, bridge idempotency).

Only new tables, so every existing table of version 1 stays as it was.
"""

from __future__ import annotations

from .. import schema


def statements(dialect: str) -> list[str]:
    out: list[str] = []
    for table in schema.CONTROL_PLANE_TABLES:
        out.extend(schema.table_ddl(table, dialect))
    return out
