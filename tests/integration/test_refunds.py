"""Invariant 5, refund rules in the domain: ≤ captured − refunded, after capture, within the window."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import (
    OPS_KEY,
    SUPPORT_KEY,
    authorize,
    command,
    order_body,
    place,
    put_product,
)
from tests.helpers.processes import ApiServer

SKU = "SKU-REFUND"
TOTAL = 2 * 1250


def _order(base_url: str, *, capture: bool = True) -> str:
    """An order of TOTAL, authorized and (unless told otherwise) captured in full."""
    put_product(base_url, SKU, on_hand=10, price=1250)
    placed = place(base_url, order_body(items=[(SKU, 2)]))
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["order_id"])
    authorized = authorize(base_url, order_id)
    assert authorized.status_code == 200, authorized.text
    if capture:
        captured = command(base_url, order_id, "capture", str(uuid.uuid4()), OPS_KEY)
        assert captured.status_code == 200, captured.text
    return order_id


def _refund(base_url: str, order_id: str, amount: int, key: str | None = None) -> httpx.Response:
    body = {"amount": {"amount": amount, "currency": "EUR"}, "reason": "parcel damaged"}
    return command(base_url, order_id, "refunds", key or str(uuid.uuid4()), SUPPORT_KEY, body)


def _state(db: psycopg.Connection[Any], order_id: str) -> tuple[Any, ...]:
    """Everything a refund may change: order, payment, refund rows, events."""
    row = db.execute(
        """
        SELECT o.version, o.status, p.state, p.refunded,
               (SELECT count(*) FROM refunds r WHERE r.order_id = o.id),
               (SELECT count(*) FROM outbox e WHERE e.aggregate_id = o.id)
          FROM orders o JOIN payments p ON p.order_id = o.id WHERE o.id = %s
        """,
        (order_id,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def _assert_refused(
    db: psycopg.Connection[Any], response: httpx.Response, order_id: str, before: tuple[Any, ...]
) -> None:
    """422 refund-rule, nothing changed, and the refusal is in the audit log."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/refund-rule"
    assert _state(db, order_id) == before
    audit = db.execute(
        """
        SELECT order_id::text, version_before, version_after, problem_type, reason IS NOT NULL
          FROM audit_log WHERE command = 'issue_refund' AND outcome = 'rejected'
        """
    ).fetchall()
    assert audit == [(order_id, before[0], None, "refund-rule", True)]
    refused_key = response.request.headers["Idempotency-Key"]
    receipt = db.execute("SELECT count(*) FROM idempotency_receipts WHERE key = %s", (refused_key,))
    assert receipt.fetchone() == (0,)  # the refusal does not use up the key


def test_partial_refund_is_recorded_and_keeps_the_status(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _order(api.url)
    response = _refund(api.url, order_id, 1000)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "CAPTURED"
    assert body["payment"]["refunded"] == 1000
    assert body["payment"]["state"] == "partially_refunded"
    assert response.headers["ETag"] == f'"{body["version"]}"' == '"4"'
    assert [r["amount"] for r in body["refunds"]] == [1000]
    assert _state(db, order_id) == (4, "CAPTURED", "partially_refunded", 1000, 1, 4)
    event = db.execute(
        "SELECT event_type, payload->'facts'->>'full' FROM outbox WHERE aggregate_id = %s"
        " AND aggregate_version = 4",
        (order_id,),
    ).fetchone()
    assert event == ("RefundIssued", "false")


def test_refunding_everything_captured_marks_the_order_refunded(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _order(api.url)
    assert _refund(api.url, order_id, 1000).status_code == 201
    rest = _refund(api.url, order_id, TOTAL - 1000)
    assert rest.status_code == 201, rest.text
    assert rest.json()["status"] == "REFUNDED"
    assert rest.json()["payment"]["refunded"] == TOTAL
    assert _state(db, order_id) == (5, "REFUNDED", "refunded", TOTAL, 2, 5)


def test_refund_above_what_is_left_is_refused(api: ApiServer, db: psycopg.Connection[Any]) -> None:
    order_id = _order(api.url)
    assert _refund(api.url, order_id, 1000).status_code == 201
    before = _state(db, order_id)
    _assert_refused(db, _refund(api.url, order_id, TOTAL - 1000 + 1), order_id, before)


def test_refund_above_the_captured_amount_is_refused(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _order(api.url)
    before = _state(db, order_id)
    _assert_refused(db, _refund(api.url, order_id, TOTAL + 1), order_id, before)


def test_refund_before_capture_is_refused(api: ApiServer, db: psycopg.Connection[Any]) -> None:
    order_id = _order(api.url, capture=False)
    before = _state(db, order_id)
    assert before[1] == "AUTHORIZED"
    _assert_refused(db, _refund(api.url, order_id, 100), order_id, before)


def test_refund_of_a_fully_refunded_order_is_refused(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _order(api.url)
    assert _refund(api.url, order_id, TOTAL).status_code == 201
    before = _state(db, order_id)
    assert before[1] == "REFUNDED"
    _assert_refused(db, _refund(api.url, order_id, 1), order_id, before)


def test_refund_outside_a_zero_day_window_is_refused(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    server = start_api(refund_window_days="0")
    order_id = _order(server.url)
    db.execute(
        "UPDATE orders SET captured_at = captured_at - interval '1 second' WHERE id = %s",
        (order_id,),
    )
    before = _state(db, order_id)
    _assert_refused(db, _refund(server.url, order_id, 100), order_id, before)


@pytest.mark.parametrize(("days_ago", "allowed"), [(29, True), (31, False)])
def test_refund_window_of_thirty_days_is_measured_from_capture(
    api: ApiServer, db: psycopg.Connection[Any], days_ago: int, allowed: bool
) -> None:
    order_id = _order(api.url)
    db.execute(
        "UPDATE orders SET captured_at = now() - make_interval(days => %s) WHERE id = %s",
        (days_ago, order_id),
    )
    before = _state(db, order_id)
    response = _refund(api.url, order_id, 100)
    if allowed:
        assert response.status_code == 201, response.text
        assert _state(db, order_id)[3:5] == (100, 1)
    else:
        _assert_refused(db, response, order_id, before)
