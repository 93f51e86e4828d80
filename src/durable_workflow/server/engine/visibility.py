"""The visibility query language of ``GET /workflows?query=...`` and search-attribute types.

Grammar (keywords are case-insensitive; attribute names are case-sensitive)::

    query      := or_expr
    or_expr    := and_expr ( "OR" and_expr )*
    and_expr   := unary ( "AND" unary )*
    unary      := "NOT" unary | "(" or_expr ")" | predicate
    predicate  := name op value
                | name [ "NOT" ] "IN" "(" value ( "," value )* ")"
                | name "BETWEEN" value "AND" value
                | name "IS" [ "NOT" ] "NULL"
    op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value      := 'single quoted' | "double quoted" | number | TRUE | FALSE
    name       := [A-Za-z_][A-Za-z0-9_]*  |  `back quoted`

Example: ``WorkflowType = 'orders' AND (Region IN ('eu', 'us') OR Priority >= 3)``.
Names are system attributes (``WorkflowId``, ``WorkflowType``, ``ExecutionStatus``, ``TaskQueue``,
``RunId``, ``BusinessKey``, ``BuildId``, ``StartTime``, ``CloseTime``) or custom attributes
created with ``POST /search-attributes``. For ``keyword_list`` attributes ``=`` means "contains";
for ``text`` attributes ``=`` is a substring match. A query that does not parse is a 422 whose
message names the character position.

The parser produces a small tree; :func:`resolve` types it against the namespace's attributes;
each store back end compiles the typed tree to its own SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidArgument

__all__ = [
    "ATTRIBUTE_TYPES",
    "SYSTEM_ATTRIBUTES",
    "Cmp",
    "Logic",
    "QuerySyntaxError",
    "is_structured_query",
    "parse_query",
    "resolve",
]

ATTRIBUTE_TYPES = ("keyword", "text", "int", "double", "bool", "datetime", "keyword_list")

# name -> (type, runs column)
SYSTEM_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "WorkflowId": ("keyword", "workflow_id"),
    "WorkflowType": ("keyword", "workflow_type"),
    "ExecutionStatus": ("keyword", "status"),
    "TaskQueue": ("keyword", "task_queue"),
    "RunId": ("keyword", "run_id"),
    "BusinessKey": ("keyword", "business_key"),
    "BuildId": ("keyword", "build_id"),
    "StartTime": ("datetime", "started_at"),
    "CloseTime": ("datetime", "closed_at"),
}

_OPS = ("=", "!=", "<>", "<=", ">=", "<", ">")
_KEYWORDS = {"AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE"}
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),])|(?P<name>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`))"
)


class QuerySyntaxError(InvalidArgument):
    """The query does not parse; ``position`` is the 0-based character offset."""

    reason = "invalid_query"

    def __init__(self, message: str, position: int) -> None:
        full = f"Invalid query at position {position}: {message}"
        super().__init__(full, {"query": [full]}, position=position)
        self.position = position


@dataclass(frozen=True, slots=True)
class Cmp:
    """``target op value``; after :func:`resolve` ``target`` is ``("column", col, type)`` or
    ``("attr", name, type)``. ``op`` is one of ``= != < <= > >= in not_in is_null not_null``."""

    target: tuple[str, str, str]
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # and | or | not
    items: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # str num op punct name kw end
    text: str
    value: Any
    pos: int


def is_structured_query(text: str) -> bool:
    """True if ``query`` is meant as an expression rather than a substring of the workflow id.

    Workflow ids cannot contain these characters, so a plain id fragment is never misread.
    """
    return bool(re.search(r"[=<>()!'\"`]|\s(?i:in|between|is)\s", text))


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            out.append(_Tok("end", "", None, pos))
            return out
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QuerySyntaxError(f"unexpected character {text[pos]!r}", pos)
        start = m.start(m.lastgroup or 0)
        kind = m.lastgroup or ""
        raw = m.group(kind)
        value: Any = raw
        if kind == "str":
            quote = raw[0]
            value = raw[1:-1].replace(quote * 2, quote)
            value = re.sub(r"\\(.)", r"\1", value)
        elif kind == "num":
            value = float(raw) if "." in raw else int(raw)
        elif kind == "name":
            if raw.startswith("`"):
                value = raw[1:-1]
            elif raw.upper() in _KEYWORDS:
                kind, value = "kw", raw.upper()
        out.append(_Tok(kind, raw, value, start))
        pos = m.end()


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def kw(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "kw" and tok.value == word:
            self.i += 1
            return True
        return False

    def expect_punct(self, ch: str) -> None:
        tok = self.take()
        if tok.kind != "punct" or tok.text != ch:
            raise QuerySyntaxError(f"expected {ch!r}, found {_describe(tok)}", tok.pos)

    def parse(self) -> Any:
        node = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise QuerySyntaxError(f"expected AND, OR or the end, found {_describe(tok)}", tok.pos)
        return node

    def or_expr(self) -> Any:
        items = [self.and_expr()]
        while self.kw("OR"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Logic("or", tuple(items))

    def and_expr(self) -> Any:
        items = [self.unary()]
        while self.kw("AND"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else Logic("and", tuple(items))

    def unary(self) -> Any:
        if self.kw("NOT"):
            return Logic("not", (self.unary(),))
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "(":
            self.take()
            node = self.or_expr()
            self.expect_punct(")")
            return node
        return self.predicate()

    def value(self) -> tuple[Any, int]:
        tok = self.take()
        if tok.kind in ("str", "num"):
            return tok.value, tok.pos
        if tok.kind == "kw" and tok.value in ("TRUE", "FALSE"):
            return tok.value == "TRUE", tok.pos
        raise QuerySyntaxError(f"expected a value, found {_describe(tok)}", tok.pos)

    def predicate(self) -> Any:
        tok = self.take()
        if tok.kind != "name":
            raise QuerySyntaxError(f"expected an attribute name, found {_describe(tok)}", tok.pos)
        target = ("name", tok.value, str(tok.pos))
        op_tok = self.peek()
        if op_tok.kind == "op":
            self.take()
            value, _ = self.value()
            op = "!=" if op_tok.text == "<>" else op_tok.text
            return Cmp(target, op, value)
        negated = self.kw("NOT")
        if self.kw("IN"):
            self.expect_punct("(")
            values = [self.value()[0]]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                values.append(self.value()[0])
            self.expect_punct(")")
            return Cmp(target, "not_in" if negated else "in", tuple(values))
        if negated:
            bad = self.peek()
            raise QuerySyntaxError(f"expected IN after NOT, found {_describe(bad)}", bad.pos)
        if self.kw("BETWEEN"):
            low, _ = self.value()
            if not self.kw("AND"):
                bad = self.peek()
                raise QuerySyntaxError(f"expected AND in BETWEEN, found {_describe(bad)}", bad.pos)
            high, _ = self.value()
            return Logic("and", (Cmp(target, ">=", low), Cmp(target, "<=", high)))
        if self.kw("IS"):
            neg = self.kw("NOT")
            if not self.kw("NULL"):
                bad = self.peek()
                raise QuerySyntaxError(f"expected NULL, found {_describe(bad)}", bad.pos)
            return Cmp(target, "not_null" if neg else "is_null", None)
        raise QuerySyntaxError(
            f"expected an operator (=, !=, <, <=, >, >=, IN, BETWEEN, IS) after {tok.text}, "
            f"found {_describe(op_tok)}",
            op_tok.pos,
        )


def _describe(tok: _Tok) -> str:
    return "the end of the query" if tok.kind == "end" else repr(tok.text)


def parse_query(text: str) -> Any:
    """Parse ``text`` into an untyped tree; :class:`QuerySyntaxError` names the position."""
    return _Parser(text).parse()


def resolve(node: Any, custom: dict[str, str]) -> Any:
    """Type every predicate against system and ``custom`` (name -> type) attributes."""
    if isinstance(node, Logic):
        return Logic(node.op, tuple(resolve(n, custom) for n in node.items))
    assert isinstance(node, Cmp)
    _, name, pos = node.target
    if name in SYSTEM_ATTRIBUTES:
        type_, column = SYSTEM_ATTRIBUTES[name]
        target = ("column", column, type_)
    elif name in custom:
        type_ = custom[name]
        target = ("attr", name, type_)
    else:
        raise QuerySyntaxError(f"unknown search attribute {name!r}", int(pos))
    if node.op in ("is_null", "not_null"):
        return Cmp(target, node.op, None)
    if node.op in ("in", "not_in"):
        value: Any = tuple(_coerce(v, type_, name, int(pos), target[0]) for v in node.value)
    else:
        if type_ in ("bool", "keyword_list", "text") and node.op not in ("=", "!="):
            raise QuerySyntaxError(f"{name} ({type_}) supports only = and !=", int(pos))
        value = _coerce(node.value, type_, name, int(pos), target[0])
    return Cmp(target, node.op, value)


def _coerce(value: Any, type_: str, name: str, pos: int, where: str) -> Any:
    ok = True
    if type_ == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif type_ == "double":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif type_ == "bool":
        ok = isinstance(value, bool)
        value = 1 if value else 0  # JSON true/false compare as 1/0 in SQL
    elif type_ == "datetime":
        if isinstance(value, str):
            try:
                dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                ok = False
            else:
                if dt.tzinfo is None:
                    dt = dt.replace(tzinfo=UTC)
                # System times are epoch seconds; custom ones are stored as given (ISO text).
                value = dt.timestamp() if where == "column" else value
        else:
            ok = False
    else:
        ok = isinstance(value, str)
    if not ok:
        raise QuerySyntaxError(f"{name} is a {type_} attribute; {value!r} is not a {type_}", pos)
    return value
