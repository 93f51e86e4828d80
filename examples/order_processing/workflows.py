"""The order workflow: validate, reserve, (approve), charge with retries, ship; undo on failure.

Workflow code only decides: every side effect is an activity, every wait is durable, so a worker
can crash anywhere and another one carries on from the recorded history.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from durable_workflow import ActivityRetryPolicy, WorkflowContext, workflow
from durable_workflow.errors import ActivityFailed

#: Orders at or above this total wait for a human "approve" (or "reject") signal.
APPROVAL_THRESHOLD_CENTS = 50_000
#: How long an order waits for that decision before it is given up.
APPROVAL_TIMEOUT_SECONDS = 24 * 3600

PAYMENT_RETRY = ActivityRetryPolicy(
    max_attempts=4,
    initial_interval_seconds=1,
    backoff_coefficient=2,
    maximum_interval_seconds=30,
    non_retryable_error_types=["PaymentDeclined"],
)
QUICK_RETRY = ActivityRetryPolicy(max_attempts=3, initial_interval_seconds=1)


@workflow.defn(name="order-processing")
class OrderWorkflow:
    def __init__(self) -> None:
        self.decision: dict[str, Any] | None = None

    @workflow.signal("approve")
    def approve(self, by: str) -> None:
        self.decision = {"approved": True, "by": by}

    @workflow.signal("reject")
    def reject(self, by: str, reason: str = "") -> None:
        self.decision = {"approved": False, "by": by, "reason": reason}

    def run(self, ctx: WorkflowContext, order: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
        order_id = order.get("order_id", "")
        ctx.logger.info("processing order %s", order_id)
        try:
            priced = yield ctx.schedule_activity("order.validate", [order])
        except ActivityFailed as failure:
            return {"order_id": order_id, "status": "invalid", "reason": failure.message}

        reservation = yield ctx.schedule_activity(
            "order.reserve_inventory", [order_id, priced["lines"]], retry_policy=QUICK_RETRY
        )

        approved_by = None
        if priced["total_cents"] >= APPROVAL_THRESHOLD_CENTS:
            decided = yield ctx.wait_condition(
                lambda: self.decision is not None, timeout=APPROVAL_TIMEOUT_SECONDS
            )
            decision = self.decision if decided else None
            if decision is None or not decision["approved"]:
                yield ctx.schedule_activity("order.release_inventory", [order_id])
                reason = "approval timed out" if decision is None else decision.get("reason", "")
                return {"order_id": order_id, "status": "rejected", "reason": reason}
            approved_by = decision["by"]

        try:
            charge = yield ctx.schedule_activity(
                "order.charge_payment",
                [order_id, priced["total_cents"], order.get("card", "")],
                retry_policy=PAYMENT_RETRY,
                start_to_close_timeout=30,
                schedule_to_close_timeout=300,
            )
        except ActivityFailed as failure:
            yield ctx.schedule_activity("order.release_inventory", [order_id])
            return {"order_id": order_id, "status": "payment_failed", "reason": failure.message}

        shipment = yield ctx.schedule_activity(
            "order.ship", [order_id, order.get("address", "")], retry_policy=QUICK_RETRY
        )
        return {
            "order_id": order_id,
            "status": "shipped",
            "total_cents": priced["total_cents"],
            "reservation_id": reservation["reservation_id"],
            "approved_by": approved_by,
            "charge": charge,
            "tracking_number": shipment["tracking_number"],
        }
