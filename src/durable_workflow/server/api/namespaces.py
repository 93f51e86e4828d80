"""Namespace handlers (control-plane.md §3) and ``POST /storage/test`` (§8).

Namespace routes address a namespace by path, not ``X-Namespace``.
"""

from __future__ import annotations

import re
from typing import Any

from ..engine.control import STORAGE_DRIVERS, control_plane
from .call import Call

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_NAME_HINT = "lower-case letters, digits and . _ - (starting with a letter or digit, max 64)"


async def list_namespaces(call: Call) -> tuple[int, Any]:
    return 200, {"namespaces": await control_plane(call.engine).list_namespaces()}


async def describe_namespace(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).describe_namespace(call.params["name"])


async def create_namespace(call: Call) -> tuple[int, Any]:
    r = call.reader(("name", "description", "retention_days"))
    name = r.string("name", required=True, max_length=64, pattern=NAME, pattern_hint=_NAME_HINT)
    description = r.string("description", max_length=1024)
    retention = r.integer("retention_days", minimum=1, maximum=36500)
    r.finish()
    assert name
    return 201, await control_plane(call.engine).create_namespace(
        name, description, 30 if retention is None else retention
    )


async def update_namespace(call: Call) -> tuple[int, Any]:
    r = call.reader(("description", "retention_days"))
    changes: dict[str, Any] = {}
    description = r.string("description", max_length=1024)
    retention = r.integer("retention_days", minimum=1, maximum=36500)
    r.finish()
    if description is not None:
        changes["description"] = description
    if retention is not None:
        changes["retention_days"] = retention
    return 200, await control_plane(call.engine).update_namespace(call.params["name"], changes)


async def set_external_storage(call: Call) -> tuple[int, Any]:
    r = call.reader(("driver", "enabled", "threshold_bytes", "config"))
    driver = r.one_of("driver", STORAGE_DRIVERS)
    if driver is None and "driver" not in r.errors:
        r.errors["driver"] = ["is required"]
    enabled = r.any("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        r.errors.setdefault("enabled", []).append("must be a boolean")
    threshold = r.integer("threshold_bytes", minimum=1)
    config = r.obj("config")
    r.finish()
    assert driver
    return 200, await control_plane(call.engine).set_external_storage(
        call.params["name"],
        driver=driver,
        enabled=True if enabled is None else enabled,
        threshold_bytes=threshold,
        config=config,
    )


async def storage_test(call: Call) -> tuple[int, Any]:
    r = call.reader(("driver", "small_payload_bytes", "large_payload_bytes"))
    driver = r.string("driver")
    small = r.integer("small_payload_bytes", minimum=1, maximum=1024 * 1024)
    large = r.integer("large_payload_bytes", minimum=1, maximum=64 * 1024 * 1024)
    r.finish()
    return 200, await control_plane(call.engine).storage_test(
        call.namespace, driver, small or 128, large or 3 * 1024 * 1024
    )
