"""What the verb families (model, control, lite) share between the two back ends.

The verbs are written once, with ``?`` placeholders, against four async hooks
(``_v_one``, ``_v_many``, ``_v_exec``, ``_v_rows``). :class:`SqliteHooks` runs them on the
host's ``sqlite3`` connection; :class:`PostgresHooks` on its psycopg connection, after
turning ``?`` into ``%s`` (shared SQL never contains a literal ``?`` or ``%``: values,
LIKE patterns and JSON paths are always bound). A back end overrides a verb only where
its SQL or its locking really differs (e.g. ``FOR UPDATE`` on PostgreSQL).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from . import schema
from ._mapper import Mapper

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")


@dataclass(frozen=True)
class Dialect:
    """Placeholder style and boolean binding of one back end; builds its row mappers."""

    name: str
    mark: str
    native_bool: bool

    def mapper(self, table: schema.Table, cls: type[T]) -> Mapper[T]:
        return cast("Mapper[T]", _mapper(self, table, cast(Hashable, cls)))


@functools.cache
def _mapper(dialect: Dialect, table: schema.Table, cls: Any) -> Mapper[Any]:
    return Mapper(table, cls, mark=dialect.mark, native_bool=dialect.native_bool)


SQLITE = Dialect("sqlite", "?", False)
POSTGRES = Dialect("postgres", "%s", True)


@functools.lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class VerbHooks:
    """The hooks shared verbs call; a back end's transaction provides ``_c``."""

    _d: ClassVar[Dialect]

    async def _v_rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def _v_exec(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        raise NotImplementedError

    async def _v_one(self, m: Mapper[T], where: str, args: Sequence[Any]) -> T | None:
        rows = await self._v_rows(f"{m.select} WHERE {where}", args)
        return m.row(rows[0]) if rows else None

    async def _v_many(self, m: Mapper[T], where: str, args: Sequence[Any]) -> list[T]:
        return m.rows(await self._v_rows(f"{m.select} WHERE {where}", args))

    async def _v_insert(self, m: Mapper[T], row: T, suffix: str = "") -> int:
        return await self._v_exec(m.insert + suffix, m.values(row))

    async def _v_update(
        self, m: Mapper[Any], key: dict[str, Any], changes: dict[str, Any], extra: str = ""
    ) -> int:
        """``UPDATE`` the row with ``key`` (and ``extra`` condition, ``?`` args last)."""
        if not changes:
            return 0
        sets = ", ".join(f"{k} = ?" for k in changes)
        where = " AND ".join(f"{k} = ?" for k in key)
        args = [m.encode(k, v) for k, v in changes.items()] + list(key.values())
        return await self._v_exec(f"UPDATE {m.table} SET {sets} WHERE {where}{extra}", args)


class SqliteHooks(VerbHooks):
    _d = SQLITE
    _c: sqlite3.Connection

    async def _v_rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._c.execute(sql, args).fetchall()

    async def _v_exec(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._c.execute(sql, args).rowcount


class PostgresHooks(VerbHooks):
    _d = POSTGRES
    _c: psycopg.AsyncConnection[Any]

    async def _v_rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = await self._c.execute(_pg(sql), args)
        return await cur.fetchall()

    async def _v_exec(self, sql: str, args: Sequence[Any] = ()) -> int:
        cur = await self._c.execute(_pg(sql), args)
        return cur.rowcount

    async def _v_lock_run(self, run_id: str) -> None:
        """The run row is the lock for everything run-scoped (see ``postgres.py``)."""
        await self._c.execute("SELECT 1 FROM runs WHERE run_id = %s FOR UPDATE", (run_id,))


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere (``\\`` escapes)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
