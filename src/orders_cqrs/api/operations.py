"""Every public operation's id and summary, in one table.

Clients are generated from the OpenAPI document, and a generator names its methods after the
operation ids: FastAPI's defaults (``place_v1_orders_post``) would become the client's API.
These are the names a client author would choose, and they stay put when a route's path or
function is renamed. ``name_operations`` fails on an operation missing here (the OpenAPI
test builds the document), so a new endpoint cannot ship with a generated name.
"""

from __future__ import annotations

from typing import Any

# "METHOD path" as the document has it -> (operationId, summary)
OPERATIONS: dict[str, tuple[str, str]] = {
    "PUT /v1/inventory/{sku}": ("putProduct", "Create or restock a product"),
    "GET /v1/inventory/{sku}": ("getProduct", "Read a product's stock and reservations"),
    "POST /v1/orders": ("placeOrder", "Place an order"),
    "POST /v1/orders/{order_id}/authorize": (
        "authorizePayment",
        "Authorize the order's payment with its provider",
    ),
    "POST /v1/orders/{order_id}/capture": ("capturePayment", "Capture the authorized payment"),
    "POST /v1/orders/{order_id}/cancel": ("cancelOrder", "Cancel an order and release its stock"),
    "POST /v1/orders/{order_id}/ship": ("shipOrder", "Record the order's shipment"),
    "POST /v1/orders/{order_id}/deliver": ("deliverOrder", "Record the order's delivery"),
    "POST /v1/orders/{order_id}/refunds": (
        "refundOrder",
        "Refund part or all of the captured amount",
    ),
    "POST /v1/orders/{order_id}/notes": ("addSupportNote", "Add a support note to the order"),
    "GET /v1/orders/{order_id}": ("getOrder", "Read the order summary with its freshness"),
    "GET /v1/customers/{customer_id}/orders": (
        "listCustomerOrders",
        "List a customer's orders, newest first",
    ),
    "GET /v1/support/orders/{order_id}": (
        "getSupportOrderView",
        "Read the one-page support view of an order",
    ),
    "GET /v1/orders/{order_id}/history": (
        "getOrderHistory",
        "Read the order's events and refused commands",
    ),
    "GET /v1/support/orders": ("searchOrders", "Search orders for support"),
    "GET /v1/projections": ("listProjections", "List the projections with lag and groups"),
    "POST /v1/projections/{name}/rebuild": (
        "startRebuild",
        "Rebuild a projection into a new generation",
    ),
    "GET /v1/projections/{name}/dead-letters": (
        "listDeadLetters",
        "List a projection's dead letters",
    ),
    "POST /v1/projections/{name}/dead-letters/replay": (
        "replayDeadLetters",
        "Replay a projection's dead letters",
    ),
    "GET /healthz": ("getHealth", "Liveness"),
    "GET /readyz": ("getReadiness", "Readiness (PostgreSQL answers)"),
    "GET /metrics": ("getMetrics", "Prometheus metrics"),
    "GET /v1/dashboards/stuck-orders": ("getStuckOrders", "Orders past their state's SLA, grouped"),
    "GET /v1/dashboards/orders": ("getOrderSeries", "Order counts, revenue and refunds over time"),
}


def name_operations(schema: dict[str, Any]) -> None:
    """Give every operation of the OpenAPI document its id and summary from ``OPERATIONS``."""
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            key = f"{method.upper()} {path}"
            if key not in OPERATIONS:
                raise RuntimeError(f"{key} has no operation id in api/operations.py")
            operation["operationId"], operation["summary"] = OPERATIONS[key]
