"""Version 2 (issue 4, the workflow model): child calls, updates, cooperative cancel requests.

New tables only, so version-1 databases upgrade by creating them.
"""

from __future__ import annotations

from .. import schema


def statements(dialect: str) -> list[str]:
    out: list[str] = []
    for table in (schema.CHILD_CALLS, schema.WORKFLOW_UPDATES, schema.CANCEL_REQUESTS):
        out.extend(schema.table_ddl(table, dialect))
    return out
