"""Search attributes (control-plane.md §4) and the ``query`` filter of ``GET /workflows``."""

from __future__ import annotations

import re
from typing import Any

from ..engine.control import control_plane
from ..engine.visibility import is_structured_query, parse_query, resolve
from .call import Call

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


async def visibility_filter(call: Call) -> tuple[str | None, Any]:
    """``(substring, None)`` for a plain id fragment, ``(None, typed tree)`` for an expression."""
    query = call.query("query")
    if query is None or not is_structured_query(query):
        return query, None
    tree = parse_query(query)  # syntax errors first: they need no database
    types = await control_plane(call.engine).search_attribute_types(call.namespace)
    return None, resolve(tree, types)


async def list_search_attributes(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).list_search_attributes(call.namespace)


async def create_search_attribute(call: Call) -> tuple[int, Any]:
    r = call.reader(("name", "type"))
    name = r.string(
        "name",
        required=True,
        max_length=64,
        pattern=_NAME,
        pattern_hint="letters, digits and _ (not starting with a digit)",
    )
    type_ = r.string("type", required=True)
    r.finish()
    assert name and type_
    return 201, await control_plane(call.engine).create_search_attribute(
        call.namespace, name, type_
    )


async def delete_search_attribute(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).delete_search_attribute(
        call.namespace, call.params["name"]
    )
