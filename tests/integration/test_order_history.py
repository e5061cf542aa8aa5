"""GET /v1/orders/{id}/history: the order's events and its refused commands, oldest first,
from the write side — who did what, when, and what was refused and why."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import (
    CHECKOUT_KEY,
    OPS_KEY,
    SUPPORT_KEY,
    authorize,
    command,
    headers,
    place_one,
    put_product,
)
from tests.helpers.problems import assert_problem
from tests.helpers.processes import ApiServer

SKU = "SKU-HISTORY"


def history(base_url: str, order_id: str, key: str = SUPPORT_KEY) -> httpx.Response:
    return httpx.get(f"{base_url}/v1/orders/{order_id}/history", headers=headers(key), timeout=30)


def test_history_lists_every_event_and_each_refusal_in_order_with_who_and_why(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    put_product(api.url, SKU, on_hand=5, price=1500)
    order_id = place_one(api.url, SKU)
    assert authorize(api.url, order_id).status_code == 200
    early = command(
        api.url,
        order_id,
        "refunds",
        str(uuid.uuid4()),
        SUPPORT_KEY,
        {"amount": {"amount": 500, "currency": "EUR"}, "reason": "too early"},
    )
    assert early.status_code == 422, early.text  # nothing captured yet
    assert command(api.url, order_id, "capture", str(uuid.uuid4()), OPS_KEY).status_code == 200
    noted = command(api.url, order_id, "notes", str(uuid.uuid4()), SUPPORT_KEY, {"body": "hi"})
    assert noted.status_code == 201, noted.text

    answered = history(api.url, order_id)

    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["order_id"] == order_id
    entries = body["entries"]
    assert [(e["kind"], e["version"], e.get("event_type")) for e in entries] == [
        ("event", 1, "OrderPlaced"),
        ("event", 2, "PaymentAuthorized"),
        ("refused", 2, None),
        ("event", 3, "PaymentCaptured"),
        ("event", 4, "SupportNoteAdded"),
    ]
    refused = entries[2]
    assert refused["problem_type"] == "refund-rule" and refused["reason"], refused
    assert refused["actor"].startswith("support:") and refused["command"], refused
    assert entries[0]["actor"].startswith("checkout:")
    assert entries[3]["actor"].startswith("ops:")
    assert entries[4]["actor"].startswith("support:")
    times = [e["at"] for e in entries]
    assert times == sorted(times)
    events = db.execute(
        "SELECT event_id::text FROM outbox WHERE aggregate_id = %s ORDER BY aggregate_version",
        (order_id,),
    ).fetchall()
    assert [e["event_id"] for e in entries if e["kind"] == "event"] == [r[0] for r in events]
    assert all(e["command_id"] for e in entries)
    assert history(api.url, order_id, OPS_KEY).json() == body


def test_history_is_for_support_and_ops_and_an_unknown_order_is_404(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    put_product(api.url, SKU, on_hand=5)
    order_id = place_one(api.url, SKU)
    assert history(api.url, order_id, CHECKOUT_KEY).status_code == 403
    assert httpx.get(f"{api.url}/v1/orders/{order_id}/history").status_code == 401
    assert_problem(history(api.url, str(uuid.uuid4())), 404, "not-found")
    assert history(api.url, "not-a-uuid").status_code == 422
