"""``/api/cluster/info``, ``/api/health``, ``/api/ready``."""

from __future__ import annotations

from typing import Any

from ...protocol import manifest
from ..engine.clock import rfc3339
from .call import Call


async def cluster_info(call: Call) -> tuple[int, Any]:
    s = call.settings
    return 200, manifest.cluster_info(
        server_id=s.server_id,
        version=s.server_version,
        max_payload_bytes=s.max_payload_bytes,
        long_poll_timeout=min(30, s.max_poll_seconds),
    )


async def _database_ok(call: Call) -> bool:
    try:
        await call.engine.store.ping()
    except Exception:
        return False
    return True


async def health(call: Call) -> tuple[int, Any]:
    ok = await _database_ok(call)
    return (200 if ok else 503), manifest.health_body(
        database_ok=ok, timestamp=rfc3339(call.engine.clock.now()) or ""
    )


async def ready(call: Call) -> tuple[int, Any]:
    checks = {
        "database": "ok" if await _database_ok(call) else "unavailable",
        "migrations": "ok",
        "accepting_work": "ok" if not call.engine.wakeups.closed else "closing",
    }
    body = manifest.ready_body(checks=checks, timestamp=rfc3339(call.engine.clock.now()) or "")
    return (200 if body["status"] == "ready" else 503), body
