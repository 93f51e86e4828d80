"""``dw lite list`` / ``dw lite show RUN_ID``: the runs of the lite decorator API."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
from typing import Any

from ..lite.errors import DurableError
from ..lite.store import DEFAULT_DB, RunInfo, Store, store_from_url


def register(nouns: Any) -> None:
    lite = nouns.add_parser("lite", help="inspect runs of the lite @wf.workflow API")
    verbs = lite.add_subparsers(dest="verb", required=True)
    db_help = f"store URL or SQLite path (default: env DURABLE_DB, else {DEFAULT_DB})"

    list_ = verbs.add_parser("list", help="list runs, newest first")
    list_.add_argument("--db", default=None, help=db_help)
    list_.add_argument("--app", default=None, help="only this app (Workflow name)")
    list_.add_argument("--status", choices=("running", "completed", "failed"), default=None)
    list_.add_argument("--limit", type=int, default=50)
    list_.add_argument("--json", action="store_true", help="one JSON object per line, with steps")
    list_.set_defaults(func=_list)

    show = verbs.add_parser("show", help="one run with its steps and their results, as JSON")
    show.add_argument("run_id")
    show.add_argument("--db", default=None, help=db_help)
    show.add_argument("--app", default=None, help="the app, when several use this run id")
    show.set_defaults(func=_show)


def _open(db: str | None) -> Store:
    url = db or os.environ.get("DURABLE_DB") or DEFAULT_DB
    store = store_from_url(url)
    path = url.partition("sqlite:///")[2] if url.startswith("sqlite:///") else url
    if "://" not in path and path != ":memory:" and not os.path.exists(path):
        # Listing must not create an empty database next to a typo.
        raise DurableError(f"no database at {os.path.abspath(path)} (pass --db)")
    return store


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _run(args: argparse.Namespace, body: Any) -> int:
    try:
        store = _open(args.db)

        async def go() -> int:
            try:
                return int(await body(store))
            finally:
                await store.close()

        return asyncio.run(go())
    except DurableError as exc:
        print(f"dw lite {args.verb}: {exc}", file=sys.stderr)
        return 2


def _list(args: argparse.Namespace) -> int:
    async def body(store: Store) -> int:
        runs = await store.list_runs(args.app, status=args.status, limit=args.limit)
        if args.json:
            for run in runs:
                print(json.dumps(run.to_dict()))
            return 0
        rows = [("RUN ID", "APP", "WORKFLOW", "STATUS", "STEPS", "CREATED (UTC)", "UPDATED (UTC)")]
        rows += [
            (r.run_id, r.app, r.workflow_name, r.status, str(len(r.steps)),
             _when(r.created_at), _when(r.updated_at))
            for r in runs
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        return 0

    return _run(args, body)


def _show(args: argparse.Namespace) -> int:
    async def body(store: Store) -> int:
        runs: list[RunInfo] = await store.list_runs(args.app, run_id=args.run_id, limit=10)
        if not runs:
            where = f" in app {args.app!r}" if args.app else ""
            print(f"dw lite show: no run {args.run_id!r}{where}", file=sys.stderr)
            return 1
        if len(runs) > 1:
            apps = ", ".join(sorted(r.app for r in runs))
            print(f"dw lite show: run {args.run_id!r} exists in apps {apps}; pass --app",
                  file=sys.stderr)
            return 1
        print(json.dumps(runs[0].to_dict(), indent=2))
        return 0

    return _run(args, body)
