"""The migrated database matches ``schema.py`` table by table, column by column, index by index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from durable_workflow.server.store import schema
from durable_workflow.server.store.migrations import LATEST_VERSION, MIGRATIONS
from durable_workflow.server.store.sqlite import _migrate


def test_migrations_are_numbered_contiguously() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST_VERSION == schema.SCHEMA_VERSION


def test_migrated_sqlite_matches_schema(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    _migrate(conn, "m.db")
    tables = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    assert tables == {t.name for t in schema.TABLES}
    for table in schema.TABLES:
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table.name})")]
        assert cols == list(table.column_names), table.name
        indexes = {
            r[1]
            for r in conn.execute(f"PRAGMA index_list({table.name})")
            if not r[1].startswith("sqlite_")
        }
        assert indexes == {i.name for i in table.indexes}, table.name
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(LATEST_VERSION,)]
    _migrate(conn, "m.db")  # idempotent
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(LATEST_VERSION,)]


def test_postgres_ddl_is_generated_for_every_table() -> None:
    for table in schema.TABLES:
        stmts = schema.table_ddl(table, "postgres")
        assert stmts[0].startswith(f"CREATE TABLE {table.name} (") and "PRIMARY KEY" in stmts[0]


def test_frozen_migrations_replay_to_the_declared_schema() -> None:
    """Both dialects: the frozen migration SQL creates exactly what ``schema.py`` declares.

    Holds while migrations only create tables; once one alters a table, compare a migrated
    database instead (as the SQLite test above does).
    """
    for dialect in ("sqlite", "postgres"):
        applied = [stmt for m in MIGRATIONS for stmt in m.statements(dialect)]
        declared = [stmt for t in schema.TABLES for stmt in schema.table_ddl(t, dialect)]
        assert sorted(applied) == sorted(declared), dialect
