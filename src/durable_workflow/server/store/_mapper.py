"""Tuple <-> row-object mapping shared by both back ends.

JSON columns are stored as the text of ``json.dumps`` in both dialects (``TEXT`` on
PostgreSQL too): the bytes a client sent come back unchanged (key order, ``\\u0000``
escapes, number spelling), which ``JSONB`` would not guarantee.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from . import schema

T = TypeVar("T")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Mapper(Generic[T]):
    """Column list, SELECT/INSERT text and value coding for one table.

    ``mark`` is the dialect's parameter placeholder (``?`` for sqlite3, ``%s`` for psycopg);
    ``native_bool`` says whether booleans are bound as such (PostgreSQL) or as 0/1 (SQLite).
    """

    def __init__(
        self, table: schema.Table, cls: type[T], *, mark: str = "?", native_bool: bool = False
    ) -> None:
        self.table = table.name
        self.cls = cls
        self.names = table.column_names
        self.mark = mark
        self.native_bool = native_bool
        self.columns = ", ".join(self.names)
        self.select = f"SELECT {self.columns} FROM {table.name}"
        self.json_cols = table.json_columns
        self.bool_cols = table.bool_columns
        self._json_idx = [i for i, n in enumerate(self.names) if n in self.json_cols]
        self._bool_idx = [i for i, n in enumerate(self.names) if n in self.bool_cols]
        marks = ", ".join([mark] * len(self.names))
        self.insert = f"INSERT INTO {table.name} ({self.columns}) VALUES ({marks})"

    def row(self, values: Sequence[Any]) -> T:
        if not self._json_idx and not self._bool_idx:
            return self.cls(*values)
        v = list(values)
        for i in self._json_idx:
            if v[i] is not None:
                v[i] = json.loads(v[i])
        for i in self._bool_idx:
            v[i] = bool(v[i])
        return self.cls(*v)

    def rows(self, cursor: Iterable[Sequence[Any]]) -> list[T]:
        return [self.row(r) for r in cursor]

    def encode(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        if name in self.json_cols:
            return dumps(value)
        if name in self.bool_cols:
            return bool(value) if self.native_bool else (1 if value else 0)
        return value

    def values(self, obj: T) -> tuple[Any, ...]:
        return tuple(self.encode(n, getattr(obj, n)) for n in self.names)
