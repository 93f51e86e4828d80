"""The order workflow's decision paths, in process with WorkflowEnvironment (no server, no waits)."""

from __future__ import annotations

from typing import Any

from examples.order_processing.activities import InvalidOrder, PaymentDeclined
from examples.order_processing.workflows import OrderWorkflow

from durable_workflow.testing import WorkflowEnvironment

ORDER = {"order_id": "o-1", "lines": [{"sku": "monitor-27", "quantity": 2}], "card": "4242",
         "address": "somewhere"}


def env_with(calls: list[str], *, total: int = 65_800, charge: Any = None) -> WorkflowEnvironment:
    env = WorkflowEnvironment()

    def record(name: str, value: Any) -> Any:
        def activity(*args: Any) -> Any:
            calls.append(name)
            if isinstance(value, BaseException):
                raise value
            return value(*args) if callable(value) else value
        return activity

    env.register_activity("order.validate", record("validate", lambda o: {**o, "total_cents": total}))
    env.register_activity("order.reserve_inventory", record("reserve", {"reservation_id": "r-1"}))
    env.register_activity("order.release_inventory", record("release", {"released": {}}))
    env.register_activity("order.charge_payment",
                          record("charge", charge or {"charge_id": "c", "attempts": 1}))
    env.register_activity("order.ship", record("ship", {"tracking_number": "TRK-1"}))
    return env


def test_large_order_waits_for_approval_and_ships() -> None:
    calls: list[str] = []
    env = env_with(calls)
    env.signal("approve", ["ops-lead"])
    result = env.execute_workflow(OrderWorkflow, ORDER)
    assert result["status"] == "shipped" and result["approved_by"] == "ops-lead"
    assert calls == ["validate", "reserve", "charge", "ship"]


def test_rejected_order_releases_stock_and_is_not_charged() -> None:
    calls: list[str] = []
    env = env_with(calls)
    env.signal("reject", ["ops-lead", "suspicious"])
    result = env.execute_workflow(OrderWorkflow, ORDER)
    assert result == {"order_id": "o-1", "status": "rejected", "reason": "suspicious"}
    assert calls == ["validate", "reserve", "release"]


def test_approval_timeout_rejects_the_order() -> None:
    calls: list[str] = []
    result = env_with(calls).execute_workflow(OrderWorkflow, ORDER)
    assert result["status"] == "rejected" and result["reason"] == "approval timed out"
    assert calls == ["validate", "reserve", "release"]


def test_small_order_needs_no_approval() -> None:
    calls: list[str] = []
    result = env_with(calls, total=1_000).execute_workflow(OrderWorkflow, ORDER)
    assert result["status"] == "shipped" and result["approved_by"] is None


def test_declined_payment_releases_stock() -> None:
    calls: list[str] = []
    env = env_with(calls, total=1_000, charge=PaymentDeclined("declined"))
    result = env.execute_workflow(OrderWorkflow, ORDER)
    assert result["status"] == "payment_failed"
    assert calls == ["validate", "reserve", "charge", "release"]


def test_invalid_order_stops_before_any_side_effect() -> None:
    calls: list[str] = []
    env = env_with(calls)

    def reject(order: dict[str, Any]) -> None:
        raise InvalidOrder("no lines")

    env.register_activity("order.validate", reject)
    result = env.execute_workflow(OrderWorkflow, ORDER)
    assert result["status"] == "invalid"
    assert calls == []
