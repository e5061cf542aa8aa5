"""The lifecycle: every command against every status, legal ones recorded, illegal ones refused.

PENDING_PAYMENT → AUTHORIZED → CAPTURED → SHIPPED → DELIVERED,
PENDING_PAYMENT|AUTHORIZED → CANCELLED, PENDING_PAYMENT → PAYMENT_DECLINED,
refunds on CAPTURED|SHIPPED|DELIVERED, support notes in every status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from orders_cqrs.domain.errors import DomainError, IllegalTransition, RefundRuleViolation
from orders_cqrs.domain.events import EventType
from orders_cqrs.domain.order import Order
from orders_cqrs.domain.values import OrderStatus as S
from tests.helpers.builders import LATER, REFUND_WINDOW, assert_unchanged, freeze, order_in

REFUND_ID = UUID("00000000-0000-4000-8000-0000000000a1")
NOTE_ID = UUID("00000000-0000-4000-8000-0000000000b1")
PARTIAL_REFUND = 100  # less than any captured total used here, so the status stays put

COMMANDS: dict[str, Callable[[Order], object]] = {
    "authorize": lambda o: o.authorize(authorization_ref="auth-9", now=LATER),
    "decline": lambda o: o.decline(reason="card expired", now=LATER),
    "capture": lambda o: o.capture(amount=None, now=LATER),
    "cancel": lambda o: o.cancel(reason="duplicate order", now=LATER),
    "ship": lambda o: o.ship(carrier="UPS", tracking_number="1Z999", now=LATER),
    "deliver": lambda o: o.deliver(now=LATER),
    "refund": lambda o: o.refund(
        refund_id=REFUND_ID,
        amount=PARTIAL_REFUND,
        reason="scratched mug",
        window=REFUND_WINDOW,
        now=LATER,
    ),
    "add_note": lambda o: o.add_note(note_id=NOTE_ID, author="sam", body="called", now=LATER),
}

# command → {status it may start from: status it ends in}. Written out, not read from the code.
LEGAL: dict[str, dict[S, S]] = {
    "authorize": {S.PENDING_PAYMENT: S.AUTHORIZED},
    "decline": {S.PENDING_PAYMENT: S.PAYMENT_DECLINED},
    "capture": {S.AUTHORIZED: S.CAPTURED},
    "cancel": {S.PENDING_PAYMENT: S.CANCELLED, S.AUTHORIZED: S.CANCELLED},
    "ship": {S.CAPTURED: S.SHIPPED},
    "deliver": {S.SHIPPED: S.DELIVERED},
    "refund": {s: s for s in (S.CAPTURED, S.SHIPPED, S.DELIVERED)},
    "add_note": {s: s for s in S},
}

EVENT_OF: dict[str, EventType] = {
    "authorize": EventType.PAYMENT_AUTHORIZED,
    "decline": EventType.PAYMENT_DECLINED,
    "capture": EventType.PAYMENT_CAPTURED,
    "cancel": EventType.ORDER_CANCELLED,
    "ship": EventType.ORDER_SHIPPED,
    "deliver": EventType.ORDER_DELIVERED,
    "refund": EventType.REFUND_ISSUED,
    "add_note": EventType.SUPPORT_NOTE_ADDED,
}


def expected_facts(command: str, order_before: Order) -> dict[str, Any]:
    """The event-specific facts each command must record."""
    total = order_before.total
    facts: dict[str, dict[str, Any]] = {
        "authorize": {"amount": total, "authorization_ref": "auth-9"},
        "decline": {"reason": "card expired"},
        "capture": {"amount": order_before.payment.authorized},
        "cancel": {"reason": "duplicate order"},
        "ship": {"carrier": "UPS", "tracking_number": "1Z999"},
        "deliver": {},
        "refund": {
            "refund_id": str(REFUND_ID),
            "amount": PARTIAL_REFUND,
            "reason": "scratched mug",
            "full": False,
        },
        "add_note": {"note_id": str(NOTE_ID), "author": "sam", "body": "called"},
    }
    return facts[command]


def error_of(command: str) -> type[DomainError]:
    return RefundRuleViolation if command == "refund" else IllegalTransition


LEGAL_CASES = [
    pytest.param(command, start, end, id=f"{command}-from-{start.value}")
    for command, table in LEGAL.items()
    for start, end in table.items()
]
ILLEGAL_CASES = [
    pytest.param(command, start, id=f"{command}-from-{start.value}")
    for command in COMMANDS
    for start in S
    if start not in LEGAL[command]
]


def test_the_tables_cover_every_command_and_status() -> None:
    assert set(LEGAL) == set(COMMANDS) == set(EVENT_OF)
    assert len(LEGAL_CASES) + len(ILLEGAL_CASES) == len(COMMANDS) * len(S)


@pytest.mark.parametrize(("command", "start", "end"), LEGAL_CASES)
def test_a_legal_command_moves_the_order_and_records_one_event(
    command: str, start: S, end: S
) -> None:
    order = order_in(start)
    before = freeze(order)

    COMMANDS[command](order)

    assert order.status is end
    assert order.version == before.state.version + 1
    assert order.updated_at == LATER
    assert len(order.events) == len(before.event_ids) + 1
    event = order.events[-1]
    assert event.type is EVENT_OF[command]
    assert event.aggregate_id == order.id
    assert event.aggregate_version == order.version
    payload = event.to_payload()
    assert set(payload) == {"order", "facts"}
    assert payload["order"]["version"] == order.version
    assert payload["order"]["status"] == end.value
    assert payload["order"] == order.snapshot()
    assert payload["facts"] == expected_facts(command, before.state)


@pytest.mark.parametrize(("command", "start"), ILLEGAL_CASES)
def test_an_illegal_command_is_refused_and_changes_nothing(command: str, start: S) -> None:
    order = order_in(start)
    before = freeze(order)

    with pytest.raises(error_of(command)) as refused:
        COMMANDS[command](order)

    assert start.value in refused.value.detail
    assert_unchanged(order, before)


@pytest.mark.parametrize("status", list(S), ids=[s.value for s in S])
def test_every_version_has_exactly_one_event_in_order(status: S) -> None:
    order = order_in(status)
    COMMANDS["add_note"](order)

    assert [e.aggregate_version for e in order.events] == list(range(1, order.version + 1))
    assert [e.to_payload()["order"]["version"] for e in order.events] == list(
        range(1, order.version + 1)
    )
    assert len({e.event_id for e in order.events}) == order.version


def test_earlier_event_snapshots_are_not_rewritten_by_later_commands() -> None:
    order = order_in(S.PENDING_PAYMENT)
    placed = order.events[0].to_payload()["order"]
    assert placed["status"] == "PENDING_PAYMENT"

    for command in ("authorize", "capture", "ship"):
        COMMANDS[command](order)

    assert order.events[0].to_payload()["order"] == placed
    assert [e.to_payload()["order"]["status"] for e in order.events] == [
        "PENDING_PAYMENT",
        "AUTHORIZED",
        "CAPTURED",
        "SHIPPED",
    ]
