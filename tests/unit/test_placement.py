"""Placement: well-formed lines, the right total, version 1, one JSON-ready OrderPlaced event."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest

from orders_cqrs.domain.errors import InvalidOrder
from orders_cqrs.domain.events import EventType
from orders_cqrs.domain.values import Customer, OrderLine, OrderStatus, PaymentState, StockState
from tests.helpers.builders import (
    CURRENCY,
    CUSTOMER,
    LINES,
    MUG,
    NOW,
    REFUND_WINDOW,
    TEE,
    TOTAL,
    order_in,
    place,
)

REFUND_AND_NOTE = "with-a-refund-and-a-note"


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param((), id="no-lines"),
        pytest.param((MUG, MUG), id="same-line-twice"),
        pytest.param(
            (MUG, OrderLine(MUG.sku, "Mug, again", 5, 900)), id="same-sku-different-quantity"
        ),
        pytest.param(
            (MUG, TEE, OrderLine(TEE.sku, "T-shirt", 1, 1999)), id="duplicate-after-others"
        ),
    ],
)
def test_a_malformed_order_is_refused(lines: tuple[OrderLine, ...]) -> None:
    with pytest.raises(InvalidOrder):
        place(lines)


@pytest.mark.parametrize(
    ("lines", "total"),
    [
        pytest.param((OrderLine("A", "a", 1, 999),), 999, id="one-of-one"),
        pytest.param((OrderLine("A", "a", 3, 999),), 2997, id="three-of-one"),
        pytest.param(LINES, 4499, id="two-lines"),
        pytest.param(
            (OrderLine("A", "a", 7, 1), OrderLine("B", "b", 1, 0), OrderLine("C", "c", 2, 50)),
            107,
            id="with-a-free-line",
        ),
    ],
)
def test_the_total_is_the_sum_of_quantity_times_unit_price(
    lines: tuple[OrderLine, ...], total: int
) -> None:
    order = place(lines)

    assert order.total == total
    assert order.snapshot()["total"] == {"amount": total, "currency": CURRENCY}


def test_a_placed_order_is_version_one_with_one_order_placed_event() -> None:
    order = place(risk_flags=("large_amount",))

    assert order.version == 1
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.stock is StockState.RESERVED
    assert order.payment.state is PaymentState.PENDING
    assert (order.placed_at, order.updated_at) == (NOW, NOW)
    (event,) = order.events
    assert event.type is EventType.ORDER_PLACED
    assert (event.aggregate_id, event.aggregate_version) == (order.id, 1)
    assert event.facts == {"risk_flags": ["large_amount"]}
    snapshot = event.to_payload()["order"]
    assert snapshot["version"] == 1
    assert snapshot["status"] == "PENDING_PAYMENT"
    assert snapshot["risk_flags"] == ["large_amount"]
    assert snapshot["total"] == {"amount": TOTAL, "currency": CURRENCY}
    assert snapshot["items"] == [
        {"sku": "SKU-MUG-01", "name": "Mug", "quantity": 2, "unit_price": 1250, "line_total": 2500},
        {
            "sku": "SKU-TEE-02",
            "name": "T-shirt",
            "quantity": 1,
            "unit_price": 1999,
            "line_total": 1999,
        },
    ]
    assert snapshot["customer"] == {
        "id": str(CUSTOMER.id),
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "country": "DE",
    }


def test_lines_keep_the_order_they_were_given_in() -> None:
    order = place((TEE, MUG))

    assert [item["sku"] for item in order.snapshot()["items"]] == [TEE.sku, MUG.sku]


def floats_in(value: Any, path: str = "$") -> list[str]:
    """Where in a JSON-like value a float hides."""
    if isinstance(value, float):
        return [path]
    if isinstance(value, dict):
        return [hit for key, item in value.items() for hit in floats_in(item, f"{path}.{key}")]
    if isinstance(value, list | tuple):
        return [hit for i, item in enumerate(value) for hit in floats_in(item, f"{path}[{i}]")]
    return []


def snapshots_to_check() -> list[Any]:
    placed = pytest.param(place().snapshot(), id="placed")
    anonymous = pytest.param(
        place(customer=Customer(CUSTOMER.id, "x@example.com", "X")).snapshot(),
        id="customer-without-country",
    )
    by_status = [
        pytest.param(order_in(status).events[-1].to_payload(), id=status.value)
        for status in OrderStatus
    ]
    busy = order_in(OrderStatus.DELIVERED)
    busy.refund(refund_id=uuid4(), amount=100, reason="dent", window=REFUND_WINDOW, now=NOW)
    busy.add_note(note_id=uuid4(), author="sam", body="parcel left at door", now=NOW)
    assert (len(busy.refunds), len(busy.notes)) == (1, 1)
    return [placed, anonymous, *by_status, pytest.param(busy.snapshot(), id=REFUND_AND_NOTE)]


@pytest.mark.parametrize("document", snapshots_to_check())
def test_snapshots_are_json_ready_and_hold_no_floats(document: dict[str, Any]) -> None:
    text = json.dumps(document, allow_nan=False)

    assert json.loads(text) == document
    assert floats_in(document) == []
