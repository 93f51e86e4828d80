"""A program using the lite API, run as a real process by the e2e tests.

    lite_app.py pipeline DB EFFECTS [--pause-after K] [--step-seconds S] [--start-at T]
    lite_app.py batch DB EFFECTS [--pause-after K] [--start-at T]
    lite_app.py many DB PREFIX N [--start-at T]

Each executed step appends "<pid> <step>" to EFFECTS with one O_APPEND write (atomic
between processes) and, once its checkpoint is committed, prints "done <step>".
``--pause-after K`` parks the process after step K so the test can SIGKILL it there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

from durable import Workflow


def effect(path: str, what: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{os.getpid()} {what}\n".encode())
    finally:
        os.close(fd)


def mark(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def pipeline(args: argparse.Namespace) -> None:
    wf = Workflow("e2e", db=args.db)

    @wf.task
    async def step(k: int) -> str:
        effect(args.effects, f"step-{k}")
        await asyncio.sleep(args.step_seconds)
        return f"result-{k}"

    @wf.workflow(id="pipeline-{source}")
    async def run_pipeline(source: str) -> list[str]:
        results = []
        for k in range(1, 5):
            results.append(await step(k, step_id=k))
            mark(f"done step-{k}")
            if k == args.pause_after:
                mark("paused")
                await asyncio.sleep(3600)
        return results

    mark("result " + json.dumps(await run_pipeline(source="users")))


async def batch(args: argparse.Namespace) -> None:
    wf = Workflow("e2e", db=args.db)
    items = [f"item{i}" for i in range(10)]

    @wf.task
    async def process_item(item: str) -> str:
        effect(args.effects, item)
        return item.upper()

    @wf.workflow(id="batch-{batch_id}")
    async def process_batch(batch_id: str) -> int:
        for i, item in enumerate(items):
            await process_item(item, step_id=f"item-{i}")
            mark(f"done {item}")
            if i + 1 == args.pause_after:
                mark("paused")
                await asyncio.sleep(3600)
        return len(items)

    mark("result " + json.dumps(await process_batch("b1")))


async def many(args: argparse.Namespace) -> None:
    wf = Workflow("e2e-many", db=args.db)

    @wf.task
    async def fetch(n: int) -> int:
        return n * 2

    @wf.task
    async def save(n: int) -> int:
        return n + 1

    @wf.workflow(id="many-{prefix}-{n}")
    async def job(prefix: str, n: int) -> int:
        return await save(await fetch(n))

    results = await asyncio.gather(*(job(args.prefix, n) for n in range(args.n)), return_exceptions=True)
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    ok = sum(1 for n, r in enumerate(results) if r == n * 2 + 1)
    mark("result " + json.dumps({"ok": ok, "errors": errors[:5], "error_count": len(errors)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("pipeline", "batch", "many"))
    parser.add_argument("db")
    parser.add_argument("target")  # EFFECTS file, or PREFIX for "many"
    parser.add_argument("n", nargs="?", type=int, default=0)
    parser.add_argument("--pause-after", type=int, default=0)
    parser.add_argument("--step-seconds", type=float, default=0.0)
    parser.add_argument("--start-at", type=float, default=0.0)
    args = parser.parse_args()
    args.effects = args.prefix = args.target
    if args.start_at:  # processes started together begin work at the same instant
        time.sleep(max(0.0, args.start_at - time.time()))
    asyncio.run({"pipeline": pipeline, "batch": batch, "many": many}[args.mode](args))


if __name__ == "__main__":
    main()
