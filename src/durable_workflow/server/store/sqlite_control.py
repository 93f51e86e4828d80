"""SQLite dialect of the control-plane store verbs (``control_verbs.ControlVerbs``).

Mixed into ``SqliteTransaction``; ``compile_visibility`` turns a typed query tree into a
predicate over ``runs r`` (``visibility_sql.py``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ._mapper import dumps
from ._verbs import SqliteHooks
from .control_verbs import ControlVerbs
from .visibility_sql import SqliteVisibility

__all__ = ["SqliteControlVerbs", "compile_visibility"]


class SqliteControlVerbs(ControlVerbs, SqliteHooks):
    # BEGIN IMMEDIATE already serialises writers: no row locks to take.

    def _json_field(self, column: str, key: str) -> tuple[str, Any]:
        return f"json_extract({column}, ?)", "$." + json.dumps(key)

    def _any_of(self, column: str, values: Sequence[str]) -> tuple[str, Any]:
        return f"{column} IN (SELECT value FROM json_each(?))", dumps(list(values))


_VISIBILITY = SqliteVisibility()


def compile_visibility(node: Any) -> tuple[str, list[Any]]:
    """SQLite predicate over ``runs r`` for a typed query tree (``engine.visibility``)."""
    return _VISIBILITY.compile(node)
