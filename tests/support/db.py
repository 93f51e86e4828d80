"""Direct SQL on a test database of either back end (``sqlite:///…`` or ``postgresql://…``).

Statements use ``?`` placeholders (turned into ``%s`` for psycopg, with literal ``%`` escaped),
so a test that inspects or damages rows reads the same on both back ends.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.support import pg


def _sqlite_path(url: str) -> str | None:
    return url[len("sqlite:///"):] if url.startswith("sqlite:///") else None


def rows(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run ``sql`` in its own committed transaction; the rows it returns (if any)."""
    path = _sqlite_path(url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            return list(conn.execute(sql, args))
    import psycopg

    with psycopg.connect(url) as conn:
        cur = conn.execute(sql.replace("%", "%%").replace("?", "%s"), args)
        return list(cur.fetchall()) if cur.description else []


def dump(url: str) -> list[str]:
    """Every row of every table: proves a rejected request changed nothing."""
    path = _sqlite_path(url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            return list(conn.iterdump())
    return pg.dump(url)
