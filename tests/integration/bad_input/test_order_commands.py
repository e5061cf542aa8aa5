"""Bad commands on an order (``POST /v1/orders/{id}/…``): bodies, ids, and well-formed
commands that a rule of the order's state refuses."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, SUPPORT_KEY
from tests.helpers.bad_requests import (
    DROP,
    MISSING,
    ORDER,
    Bad,
    RowCheck,
    World,
    invalid_capture,
    invalid_command,
    invalid_note,
    invalid_refund,
    invalid_shipment,
    refund,
    rows,
    ship,
)

CASES: dict[str, Bad] = {
    # --- wrong types
    "refund-amount-fraction": invalid_refund({"amount.amount": 19.98}),
    "refund-currency-EURO": invalid_refund({"amount.currency": "EURO"}),
    "capture-amount-fraction": invalid_capture(19.98),
    "cancel-body-array": invalid_command("cancel", []),
    # --- missing members
    "missing-refund-reason": invalid_refund({"reason": DROP}),
    "missing-tracking-number": invalid_shipment({"tracking_number": DROP}),
    # --- unknown members
    "unknown-in-note": invalid_note({"body": "hi", "pinned": True}),
    # --- huge, negative and zero numbers
    "refund-amount-zero": invalid_refund({"amount.amount": 0}),
    "refund-amount-negative": invalid_refund({"amount.amount": -500}),
    "refund-amount-2e63": invalid_refund({"amount.amount": 2**63}),
    "capture-amount-zero": invalid_capture(0),
    # --- too long, empty
    "note-2001-chars": invalid_note({"body": "n" * 2001}),
    "note-empty": invalid_note({"body": ""}),
    "cancel-reason-501-chars": invalid_command("cancel", {"reason": "r" * 501}),
    "refund-reason-501-chars": invalid_refund({"reason": "r" * 501}),
    "carrier-65-chars": invalid_shipment({"carrier": "c" * 65}),
    "tracking-129-chars": invalid_shipment({"tracking_number": "t" * 129}),
    # --- text PostgreSQL cannot store: NUL and lone surrogates
    "nul-in-note": invalid_note({"body": "a\x00b"}),
    "nul-in-cancel-reason": invalid_command("cancel", {"reason": "\x00"}),
    "nul-in-refund-reason": invalid_refund({"reason": "late\x00"}),
    "nul-in-carrier": invalid_shipment({"carrier": "D\x00HL"}),
    "lone-surrogate-in-note": invalid_note({"body": "\ud83d"}),
    # --- path ids: not an id, or no such order
    "order-id-not-uuid": Bad("POST", "/v1/orders/order-42/cancel", 422, "validation", errors=True),
    "order-id-not-uuid-notes": Bad(
        "POST",
        "/v1/orders/42/notes",
        422,
        "validation",
        {"body": "hi"},
        key=SUPPORT_KEY,
        errors=True,
    ),
    "order-id-sql-ish": Bad(
        "POST", "/v1/orders/1%27%20OR%201=1--/authorize", 422, "validation", errors=True
    ),
    "unknown-order-cancel": Bad("POST", f"{MISSING}/cancel", 404, "not-found"),
    "unknown-order-authorize": Bad("POST", f"{MISSING}/authorize", 404, "not-found"),
    "unknown-order-capture": Bad("POST", f"{MISSING}/capture", 404, "not-found", key=OPS_KEY),
    "unknown-order-ship": Bad("POST", f"{MISSING}/ship", 404, "not-found", ship(), key=OPS_KEY),
    "unknown-order-deliver": Bad("POST", f"{MISSING}/deliver", 404, "not-found", key=OPS_KEY),
    "unknown-order-refund": Bad(
        "POST", f"{MISSING}/refunds", 404, "not-found", refund(), key=SUPPORT_KEY
    ),
    "unknown-order-note": Bad(
        "POST", f"{MISSING}/notes", 404, "not-found", {"body": "hi"}, key=SUPPORT_KEY
    ),
}


@rows(CASES)
def test_a_bad_command_gets_a_problem_and_changes_nothing(
    case: Bad, assert_refused: RowCheck
) -> None:
    assert_refused(case)


def capture_refused(amount: int, currency: str = "EUR") -> Bad:
    """A well-formed capture that the order's capture rule refuses."""
    body = {"amount": {"amount": amount, "currency": currency}}
    return Bad("POST", f"{ORDER}/capture", 422, "capture-rule", body, key=OPS_KEY)


def refund_refused(changes: dict[str, Any] | None = None) -> Bad:
    """A well-formed refund that the order's refund rule refuses."""
    return Bad("POST", f"{ORDER}/refunds", 422, "refund-rule", refund(changes), key=SUPPORT_KEY)


# Well-formed requests that a rule of the order refuses, by the state the seeded order is in.
RULE_CASES: dict[str, tuple[str, Bad]] = {
    "capture-more-than-authorized": ("authorized", capture_refused(2001)),
    "capture-in-another-currency": ("authorized", capture_refused(100, "USD")),
    "authorize-twice": ("authorized", Bad("POST", f"{ORDER}/authorize", 409, "illegal-transition")),
    "ship-before-capture": (
        "authorized",
        Bad("POST", f"{ORDER}/ship", 409, "illegal-transition", ship(), key=OPS_KEY),
    ),
    "refund-before-capture": ("authorized", refund_refused()),
    "stale-if-match": (
        "authorized",
        Bad(
            "POST",
            f"{ORDER}/capture",
            412,
            "version-conflict",
            key=OPS_KEY,
            headers={"If-Match": '"1"'},
        ),
    ),
    "refund-more-than-captured": ("captured", refund_refused({"amount.amount": 2001})),
    "refund-in-another-currency": ("captured", refund_refused({"amount.currency": "USD"})),
    "capture-twice": (
        "captured",
        Bad("POST", f"{ORDER}/capture", 409, "illegal-transition", key=OPS_KEY),
    ),
    "cancel-after-capture": ("captured", Bad("POST", f"{ORDER}/cancel", 409, "illegal-transition")),
    "deliver-before-ship": (
        "captured",
        Bad("POST", f"{ORDER}/deliver", 409, "illegal-transition", key=OPS_KEY),
    ),
}


def advance(world: World, state: str) -> None:
    """Authorize (and capture) the seeded order through the API."""
    steps = [("authorize", CHECKOUT_KEY)] + ([("capture", OPS_KEY)] if state == "captured" else [])
    for verb, key in steps:
        response = httpx.post(
            f"{world.url}/v1/orders/{world.order_id}/{verb}",
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(("state", "case"), list(RULE_CASES.values()), ids=list(RULE_CASES))
def test_a_rule_refusal_gets_its_problem_and_changes_nothing(
    world: World, assert_refused: RowCheck, state: str, case: Bad
) -> None:
    advance(world, state)
    assert_refused(case)
