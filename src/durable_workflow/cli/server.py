"""``dw server start``: run the HTTP server on a database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Any

DEFAULT_DB = "sqlite:///durable_workflow.db"


def register(nouns: Any) -> None:
    server = nouns.add_parser("server", help="run the Durable Workflow server")
    verbs = server.add_subparsers(dest="verb", required=True)
    start = verbs.add_parser("start", help="start the HTTP server")
    start.add_argument("--db", default=os.environ.get("DW_DB", DEFAULT_DB),
                       help=f"database URL (default {DEFAULT_DB}; env DW_DB)")
    start.add_argument("--host", default=os.environ.get("DW_HOST", "127.0.0.1"))
    start.add_argument("--port", type=int, default=int(os.environ.get("DW_PORT", "8080")))
    start.add_argument("--token", default=os.environ.get("DW_AUTH_TOKEN"),
                       help="shared bearer token with full access (env DW_AUTH_TOKEN); none = auth off")
    start.add_argument("--worker-token", default=os.environ.get("DW_WORKER_TOKEN"))
    start.add_argument("--operator-token", default=os.environ.get("DW_OPERATOR_TOKEN"))
    start.add_argument("--admin-token", default=os.environ.get("DW_ADMIN_TOKEN"))
    start.add_argument("--workflow-task-lease-seconds", type=float, default=None)
    start.add_argument("--activity-lease-seconds", type=float, default=None)
    start.add_argument("--log-level", default=os.environ.get("DW_LOG_LEVEL", "info"))
    start.set_defaults(func=_start)


def _start(args: argparse.Namespace) -> int:
    import uvicorn

    from ..server.http.app import create_app
    from ..server.runtime import ServerConfig, ServerRuntime

    options: dict[str, Any] = {
        "db_url": args.db,
        "token": args.token,
        "worker_token": args.worker_token,
        "operator_token": args.operator_token,
        "admin_token": args.admin_token,
    }
    if args.workflow_task_lease_seconds is not None:
        options["workflow_task_lease_seconds"] = args.workflow_task_lease_seconds
    if args.activity_lease_seconds is not None:
        options["activity_lease_seconds"] = args.activity_lease_seconds
    config = ServerConfig(**options)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from ..server.store import redact
    from ..server.store.lockfile import ServerLockError, acquire_server_lock

    try:
        lock = acquire_server_lock(args.db)  # one server per SQLite file
    except (ServerLockError, OSError) as exc:
        print(f"dw server start: {exc}", file=sys.stderr)
        return 2

    async def serve() -> int:
        # Open the store before binding the port so a bad --db fails fast with a message.
        try:
            runtime = await ServerRuntime.open(config)
        except Exception as exc:  # any start-up failure is reported, not traced
            print(f"dw server start: cannot open database {redact(args.db)!r}: {exc}",
                  file=sys.stderr)
            return 2
        try:
            app = create_app(runtime=runtime)
            uv_config = uvicorn.Config(
                app, host=args.host, port=args.port, log_level=args.log_level.lower(),
                access_log=False, lifespan="on", timeout_keep_alive=75,
            )
            await uvicorn.Server(uv_config).serve()
        finally:
            await runtime.close()
        return 0

    try:
        try:
            import uvloop
        except ImportError:
            return asyncio.run(serve())
        return uvloop.run(serve())
    finally:
        if lock is not None:
            lock.release()
