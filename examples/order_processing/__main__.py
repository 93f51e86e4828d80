"""Run the order-processing example against a server (or embedded): worker plus three orders.

    dw server start --token dev-token &
    python -m examples.order_processing --server http://127.0.0.1:8080 --token dev-token

``--server sqlite:///orders.db`` runs the same thing embedded, with no server process.
``worker`` runs only the worker (as a deployment would); ``demo`` (the default) runs a worker in
the background, submits a small order (its payment gateway times out once, so the charge is
retried), a large order that needs an approval signal, and one whose card is declined, then
prints one JSON document with each result and history.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import uuid
from typing import Any

from durable_workflow import Client, Worker

from .activities import ACTIVITIES
from .workflows import OrderWorkflow

TASK_QUEUE = "orders"


def sample_orders(prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "order_id": f"{prefix}-small",
            "lines": [{"sku": "kbd-01", "quantity": 1}, {"sku": "mouse-02", "quantity": 2}],
            "card": "4000000000000119",  # the gateway times out once: one retry
            "address": "1 Main St, Springfield",
        },
        {
            "order_id": f"{prefix}-large",
            "lines": [{"sku": "monitor-27", "quantity": 2}],  # 658.00: needs approval
            "card": "4242424242424242",
            "address": "2 High St, Shelbyville",
            "approve_as": "ops-lead",
        },
        {
            "order_id": f"{prefix}-declined",
            "lines": [{"sku": "mouse-02", "quantity": 1}],
            "card": "4000000000000002",  # declined: not retried, stock released
            "address": "3 Low Rd, Ogdenville",
        },
    ]


async def wait_for_server(client: Client, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            await client.health()
            return
        except Exception:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


def make_worker(client: Client) -> Worker:
    return Worker(client, task_queue=TASK_QUEUE, workflows=[OrderWorkflow], activities=ACTIVITIES)


async def process(client: Client, order: dict[str, Any]) -> dict[str, Any]:
    order = dict(order)
    approver = order.pop("approve_as", None)
    handle = await client.start_workflow(
        workflow_type="order-processing",
        task_queue=TASK_QUEUE,
        workflow_id=order["order_id"],
        input=[order],
    )
    if approver:
        await handle.signal("approve", [approver])
    result = await handle.result(timeout=120.0)
    history = await client.get_history(handle.workflow_id, str(handle.run_id))
    return {
        "workflow_id": handle.workflow_id,
        "run_id": handle.run_id,
        "result": result,
        "history": [event.get("event_type") for event in history["events"]],
    }


async def demo(args: argparse.Namespace) -> int:
    prefix = args.prefix or f"order-{uuid.uuid4().hex[:8]}"
    async with Client(args.server, token=args.token, namespace=args.namespace) as client:
        await wait_for_server(client, args.wait)
        worker = make_worker(client)
        running = asyncio.create_task(worker.run())
        try:
            results = [await process(client, order) for order in sample_orders(prefix)]
        finally:
            await worker.stop()
            await running
    print(json.dumps({"orders": results}, indent=2))
    return 0


async def worker_only(args: argparse.Namespace) -> int:
    async with Client(args.server, token=args.token, namespace=args.namespace) as client:
        await wait_for_server(client, args.wait)
        await make_worker(client).run()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.order_processing")
    parser.add_argument("command", nargs="?", choices=["demo", "worker"], default="demo")
    parser.add_argument("--server", default=os.environ.get("DW_SERVER", "http://127.0.0.1:8080"),
                        help="server URL, or sqlite:///file.db for embedded mode")
    parser.add_argument("--token", default=os.environ.get("DW_TOKEN"))
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--prefix", help="workflow id prefix (default: random per run)")
    parser.add_argument("--wait", type=float, default=15.0,
                        help="seconds to wait for the server to answer /health")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    run = demo if args.command == "demo" else worker_only
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
