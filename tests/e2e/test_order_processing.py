"""examples/order_processing runs end to end against a real `dw server start` (and embedded)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import ServerProcess, child_env

pytestmark = pytest.mark.e2e
TOKEN = "order-token"


def run_demo(server: str, prefix: str, cwd: Path, token: str | None = None) -> dict[str, Any]:
    args = [sys.executable, "-m", "examples.order_processing", "--server", server,
            "--prefix", prefix]
    if token:
        args += ["--token", token]
    done = subprocess.run(args, cwd=cwd, env=child_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"demo failed:\n{done.stdout}\n{done.stderr}"
    out: dict[str, Any] = json.loads(done.stdout)
    return {order["workflow_id"].removeprefix(prefix + "-"): order for order in out["orders"]}


def check_orders(orders: dict[str, Any], prefix: str) -> None:
    small, large, declined = orders["small"], orders["large"], orders["declined"]

    assert small["result"]["status"] == "shipped"
    assert small["result"]["total_cents"] == 4_900 + 2 * 2_500
    assert small["result"]["charge"]["attempts"] == 2, "the gateway timeout is retried once"
    assert small["result"]["tracking_number"].startswith("TRK-")
    assert small["history"].count("ActivityCompleted") == 4
    assert small["history"][0] == "WorkflowStarted" and small["history"][-1] == "WorkflowCompleted"

    assert large["result"]["status"] == "shipped"
    assert large["result"]["approved_by"] == "ops-lead"
    assert "SignalReceived" in large["history"]

    assert declined["result"] == {
        "order_id": f"{prefix}-declined",
        "status": "payment_failed",
        "reason": "card ending 0002 was declined",
    }
    # PaymentDeclined is listed as non-retryable: one failed charge, then the release.
    assert declined["history"].count("ActivityFailed") == 1
    assert declined["history"][-1] == "WorkflowCompleted"


def test_order_processing_against_dw_server_start(tmp_path: Path) -> None:
    server = ServerProcess(db_url=f"sqlite:///{tmp_path / 'orders.db'}", token=TOKEN,
                           log_path=tmp_path / "server.log").start()
    try:
        orders = run_demo(server.url, "e2e", tmp_path, TOKEN)
        check_orders(orders, "e2e")
        # The server's own record agrees with what the example printed.
        small = orders["small"]
        described = server.get("/api/workflows/e2e-small")
        assert described["status"] == "completed"
        assert described["run_id"] == small["run_id"]
        history = server.get(f"/api/workflows/e2e-small/runs/{small['run_id']}/history")
        scheduled = [e for e in history["events"] if e["event_type"] == "ActivityScheduled"]
        assert [e["payload"].get("activity_type") for e in scheduled] == [
            "order.validate", "order.reserve_inventory", "order.charge_payment", "order.ship",
        ]
    finally:
        server.stop()


def test_order_processing_embedded(tmp_path: Path) -> None:
    orders = run_demo(f"sqlite:///{tmp_path / 'orders.db'}", "emb", tmp_path)
    check_orders(orders, "emb")
