"""The typed visibility query tree (``engine.visibility``) compiled to a predicate over ``runs r``.

One walk of the tree for both dialects; a dialect says how to read a custom attribute out of
the ``search_attributes`` JSON text, how to test list membership and how to match text.
Both follow SQLite's rules: a missing attribute (or JSON ``null``) is SQL ``NULL``, so it
matches neither ``=`` nor ``!=`` nor ``IN``/``NOT IN`` and only ``IS NULL``; a
``keyword_list`` that is absent does not contain anything (``!=`` and ``NOT IN`` match it);
``text`` ``=`` is a case-insensitive substring match; booleans compare as ``1``/``0``.
Placeholders are ``?`` (see ``_verbs.py``).
"""

from __future__ import annotations

from typing import Any

from ._verbs import like_pattern

__all__ = ["PostgresVisibility", "SqliteVisibility"]

_SQL_OPS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

Clause = tuple[str, list[Any]]


class _Visibility:
    def compile(self, node: Any) -> Clause:
        kind = type(node).__name__
        if kind == "Logic":
            parts = [self.compile(n) for n in node.items]
            if node.op == "not":
                return f"NOT ({parts[0][0]})", parts[0][1]
            joiner = " AND " if node.op == "and" else " OR "
            return "(" + joiner.join(p[0] for p in parts) + ")", [a for p in parts for a in p[1]]
        where, name, type_ = node.target
        op, value = node.op, node.value
        if where == "attr" and op in ("is_null", "not_null"):
            expr, base = self.attr(name, "keyword")
        elif where == "attr":
            expr, base = self.attr(name, type_)
        else:
            expr, base = f"r.{name}", []
        if op in ("is_null", "not_null"):
            return f"{expr} IS {'NOT ' if op == 'not_null' else ''}NULL", base
        if type_ == "keyword_list" and where == "attr":
            values = list(value) if op in ("in", "not_in") else [value]
            contains, args = self.contains_any(name, values)
            negate = op in ("!=", "not_in")
            return (f"NOT {contains}" if negate else contains), args
        mark = self.mark(type_)
        if op in ("in", "not_in"):
            marks = ", ".join([mark] * len(value))
            return f"{expr} {'NOT ' if op == 'not_in' else ''}IN ({marks})", [*base, *value]
        if type_ == "text" and op in ("=", "!="):
            return f"{expr} {'NOT ' if op == '!=' else ''}{self.LIKE} ? ESCAPE '\\'", [
                *base,
                like_pattern(str(value)),
            ]
        return f"{expr} {_SQL_OPS[op]} {mark}", [*base, value]

    LIKE = "LIKE"

    def attr(self, name: str, type_: str) -> Clause:
        """The attribute's SQL value for comparisons of ``type_`` (``NULL`` when absent)."""
        raise NotImplementedError

    def contains_any(self, name: str, values: list[str]) -> Clause:
        """True when the list attribute holds one of ``values``; false (never NULL) if absent."""
        raise NotImplementedError

    def mark(self, type_: str) -> str:
        return "?"


class SqliteVisibility(_Visibility):
    LIKE = "LIKE"  # case-insensitive for ASCII in SQLite

    def attr(self, name: str, type_: str) -> Clause:
        return "json_extract(r.search_attributes, ?)", [f'$."{name}"']

    def contains_any(self, name: str, values: list[str]) -> Clause:
        marks = ", ".join("?" * len(values))
        return (
            f"EXISTS (SELECT 1 FROM json_each(r.search_attributes, ?) WHERE value IN ({marks}))",
            [f'$."{name}"', *values],
        )


class PostgresVisibility(_Visibility):
    """``search_attributes`` is JSON text: cast to ``jsonb`` and extract with ``->``/``->>``.

    Numbers compare as ``numeric`` and text with the ``"C"`` collation (byte order, as in
    SQLite); a value of another JSON type than the attribute's is ``NULL`` (never a cast error).
    """

    LIKE = "ILIKE"

    _JSON = "(r.search_attributes::jsonb -> ?)"

    def attr(self, name: str, type_: str) -> Clause:
        j = self._JSON
        if type_ in ("int", "double"):
            return (
                f"(CASE WHEN jsonb_typeof({j}) = 'number' THEN ({j})::numeric END)",
                [name, name],
            )
        if type_ == "bool":
            return (
                f"(CASE jsonb_typeof({j}) WHEN 'boolean' THEN ({j})::boolean::int::numeric"
                f" WHEN 'number' THEN ({j})::numeric END)",
                [name, name, name],
            )
        return '((r.search_attributes::jsonb ->> ?) COLLATE "C")', [name]

    def contains_any(self, name: str, values: list[str]) -> Clause:
        return f"COALESCE(jsonb_exists_any({self._JSON}, ?::text[]), FALSE)", [name, values]

    def mark(self, type_: str) -> str:
        return "?::numeric" if type_ in ("int", "double", "bool") else "?"
