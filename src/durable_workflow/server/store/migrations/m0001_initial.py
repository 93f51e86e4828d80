"""Version 1: every table of ``schema.py`` as first released.

Generated from ``schema.TABLES`` minus the tables later migrations add (migration 2 only
adds tables, so version-1 tables are unchanged). A later migration that alters a version-1
table must first freeze these statements into this file; ``tests/unit/server/test_schema.py``
compares a migrated database against ``schema.py``.
"""

from __future__ import annotations

from .. import schema


def statements(dialect: str) -> list[str]:
    out: list[str] = []
    for table in schema.TABLES:
        if table not in schema.CONTROL_PLANE_TABLES:  # those arrive with migration 2
            out.extend(schema.table_ddl(table, dialect))
    return out
