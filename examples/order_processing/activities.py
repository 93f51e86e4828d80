"""The order activities: the side-effecting steps, each retried by the engine as its policy says.

The "systems" behind them (stock, payment gateway, carrier) are in-memory stand-ins so the example
runs anywhere; replace the bodies with real calls and nothing else changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from durable_workflow import NonRetryableError, activity

# Stock on hand per SKU, as a warehouse system would report it.
STOCK: dict[str, int] = {"kbd-01": 50, "mouse-02": 100, "monitor-27": 5}
PRICES_CENTS: dict[str, int] = {"kbd-01": 4_900, "mouse-02": 2_500, "monitor-27": 32_900}
_reservations: dict[str, dict[str, int]] = {}


class InvalidOrder(NonRetryableError):
    """The order itself is wrong: retrying cannot help."""


class PaymentDeclined(Exception):
    """The card was declined. The workflow's retry policy lists it as non-retryable."""


class GatewayTimeout(Exception):
    """A transient payment-gateway failure: worth retrying."""


@activity.defn(name="order.validate")
def validate_order(order: dict[str, Any]) -> dict[str, Any]:
    """Check the order and price it; returns the priced order."""
    lines = order.get("lines") or []
    if not order.get("order_id") or not lines:
        raise InvalidOrder("an order needs an order_id and at least one line")
    total = 0
    for line in lines:
        sku, quantity = line.get("sku"), line.get("quantity", 0)
        if sku not in PRICES_CENTS:
            raise InvalidOrder(f"unknown sku {sku!r}")
        if not isinstance(quantity, int) or quantity < 1:
            raise InvalidOrder(f"bad quantity {quantity!r} for {sku}")
        total += PRICES_CENTS[sku] * quantity
    return {**order, "total_cents": total}


@activity.defn(name="order.reserve_inventory")
def reserve_inventory(order_id: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Reserve stock for every line (idempotent per order id, as retries may repeat it)."""
    if order_id in _reservations:
        return {"reservation_id": f"res-{order_id}", "lines": _reservations[order_id]}
    wanted = {line["sku"]: int(line["quantity"]) for line in lines}
    short = {sku: n for sku, n in wanted.items() if STOCK.get(sku, 0) < n}
    if short:
        raise InvalidOrder(f"out of stock: {short}")
    for sku, n in wanted.items():
        STOCK[sku] -= n
    _reservations[order_id] = wanted
    return {"reservation_id": f"res-{order_id}", "lines": wanted}


@activity.defn(name="order.release_inventory")
def release_inventory(order_id: str) -> dict[str, Any]:
    """Compensation: put reserved stock back (idempotent)."""
    released = _reservations.pop(order_id, {})
    for sku, n in released.items():
        STOCK[sku] = STOCK.get(sku, 0) + n
    return {"released": released}


@activity.defn(name="order.charge_payment")
async def charge_payment(order_id: str, amount_cents: int, card: str) -> dict[str, Any]:
    """Charge the card. Card numbers ending 0002 decline; ending 0119 time out on the first try."""
    attempt = activity.context().info.attempt_number
    if card.endswith("0002"):
        raise PaymentDeclined(f"card ending {card[-4:]} was declined")
    if card.endswith("0119") and attempt == 1:
        raise GatewayTimeout("payment gateway did not answer in time")
    # A deterministic id keyed by order, so a repeated charge attempt is recognisable.
    charge_id = "ch-" + hashlib.sha256(f"{order_id}:{amount_cents}".encode()).hexdigest()[:12]
    return {"charge_id": charge_id, "amount_cents": amount_cents, "attempts": attempt}


@activity.defn(name="order.ship")
def ship_order(order_id: str, address: str) -> dict[str, Any]:
    """Book the shipment and return the tracking number."""
    tracking = "TRK-" + hashlib.sha256(f"{order_id}:{address}".encode()).hexdigest()[:10].upper()
    return {"tracking_number": tracking, "carrier": "example-post"}


ACTIVITIES: list[Callable[..., Any]] = [validate_order, reserve_inventory, release_inventory, charge_payment, ship_order]
