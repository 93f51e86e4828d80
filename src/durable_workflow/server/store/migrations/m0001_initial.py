"""Version 1: every table of ``schema.py`` as first released.

Generated from ``schema.TABLES`` while version 1 is the only version. Before adding
migration 2, freeze the generated statements into this file so that later schema
edits do not rewrite history; ``tests/unit/server/test_schema.py`` compares a migrated
database against ``schema.py``.
"""

from __future__ import annotations

from .. import schema


def statements(dialect: str) -> list[str]:
    out: list[str] = []
    for table in schema.TABLES:
        if table not in schema.CONTROL_PLANE_TABLES:  # those arrive with migration 2
            out.extend(schema.table_ddl(table, dialect))
    return out
