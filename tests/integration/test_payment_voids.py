"""Cancelling an authorized order voids its hold with the provider (§3): attempt → void →
result, a void the provider does not answer finished by the reconciler, and a cancel racing an
authorization never leaves a hold on an order that cannot use it. Real API processes and
PostgreSQL; the sandbox provider is the only fake."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import CHECKOUT_KEY, command, order_body, place, put_product
from tests.helpers.processes import ApiServer, reconcile_now
from tests.helpers.write_model import outbox_event_types

SKU = "SKU-VOID"
PRICE = 1200


def _placed(base_url: str, token: str) -> str:
    response = place(base_url, order_body(items=[(SKU, 1)], token=token))
    assert response.status_code == 201, response.text
    return str(response.json()["order_id"])


def _send(base_url: str, order_id: str, verb: str, key: str) -> httpx.Response:
    return command(base_url, order_id, verb, key, CHECKOUT_KEY)


def _attempts(db: psycopg.Connection[Any], order_id: str) -> list[tuple[Any, ...]]:
    sql = """SELECT kind, status, id, provider_ref FROM payment_attempts
              WHERE order_id = %s ORDER BY created_at"""
    return [tuple(row) for row in db.execute(sql, (order_id,))]


def _payment(db: psycopg.Connection[Any], order_id: str) -> tuple[Any, ...]:
    sql = """SELECT o.status, p.state, o.stock_state FROM orders o JOIN payments p
              ON p.order_id = o.id WHERE o.id = %s"""
    found = db.execute(sql, (order_id,)).fetchone()
    assert found is not None
    return tuple(found)


def _void_ref(attempt_id: uuid.UUID) -> str:
    return "void_" + uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-card/void/{attempt_id}").hex[:24]


def _reserved(db: psycopg.Connection[Any]) -> int:
    found = db.execute("SELECT reserved FROM products WHERE sku = %s", (SKU,)).fetchone()
    assert found is not None
    return int(found[0])


def test_cancelling_an_authorized_order_voids_the_hold_with_the_provider(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    put_product(api.url, SKU, on_hand=5, price=PRICE)
    order_id = _placed(api.url, "tok_approve")
    assert _send(api.url, order_id, "authorize", "auth").status_code == 200

    cancelled = _send(api.url, order_id, "cancel", "cancel")

    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["status"], body["payment"]["state"], body["version"]) == ("CANCELLED", "voided", 4)
    [authorization, void] = _attempts(db, order_id)
    assert authorization[:2] == ("authorize", "approved")
    # The provider was asked to void, with the void attempt's id as its idempotency key.
    assert void[:2] == ("void", "voided")
    assert void[3] == _void_ref(void[2])
    assert outbox_event_types(db, order_id) == [
        "OrderPlaced",
        "PaymentAuthorized",
        "OrderCancelled",
        "PaymentVoided",
    ]
    assert _payment(db, order_id) == ("CANCELLED", "voided", "released")
    assert _reserved(db) == 0  # released exactly once
    again = _send(api.url, order_id, "cancel", "cancel")
    assert (again.headers["Idempotent-Replayed"], again.content) == ("true", cancelled.content)
    assert len(_attempts(db, order_id)) == 2


def test_a_void_the_provider_does_not_answer_is_finished_by_the_reconciler(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    server = start_api(payment_timeout_seconds="0.5")
    put_product(server.url, SKU, on_hand=5, price=PRICE)
    order_id = _placed(server.url, "tok_timeout")
    assert _send(server.url, order_id, "authorize", "auth").status_code == 504
    assert "recorded 1" in reconcile_now(database_url)  # the authorization: the order holds money

    cancelled = _send(server.url, order_id, "cancel", "cancel")

    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["status"], body["payment"]["state"]) == ("CANCELLED", "void_pending")
    assert [a[:2] for a in _attempts(db, order_id)] == [
        ("authorize", "approved"),
        ("void", "pending"),
    ]
    assert outbox_event_types(db, order_id)[-1] == "OrderCancelled"
    assert _reserved(db) == 0

    assert "voided 1" in reconcile_now(database_url)

    void = _attempts(db, order_id)[1]
    assert void[:2] == ("void", "voided")
    assert void[3] == _void_ref(void[2])  # the same key the request used
    assert outbox_event_types(db, order_id)[-2:] == ["OrderCancelled", "PaymentVoided"]
    assert _payment(db, order_id) == ("CANCELLED", "voided", "released")
    assert "voided 0" in reconcile_now(database_url)  # nothing left to do
    replay = _send(server.url, order_id, "cancel", "cancel")
    assert replay.content == cancelled.content  # the cancel's answer, as given


def test_a_void_cut_off_by_a_crash_is_finished_once_and_the_cancel_replays_it(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    server = start_api(payment_slow_seconds="1.5")
    put_product(server.url, SKU, on_hand=5, price=PRICE)
    order_id = _placed(server.url, "tok_slow")
    assert _send(server.url, order_id, "authorize", "auth").status_code == 200
    cut_off: list[httpx.Response | Exception] = []

    def cancel() -> None:
        try:
            cut_off.append(_send(server.url, order_id, "cancel", "cancel"))
        except httpx.HTTPError as error:
            cut_off.append(error)

    sender = threading.Thread(target=cancel)
    sender.start()
    deadline = time.monotonic() + 10
    while len(_attempts(db, order_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill9()  # the void is with the provider; nobody will record its answer
    sender.join(timeout=10)
    assert isinstance(cut_off[0], httpx.HTTPError)
    assert _payment(db, order_id) == ("CANCELLED", "void_pending", "released")

    assert "voided 1" in reconcile_now(database_url)

    assert outbox_event_types(db, order_id)[-2:] == ["OrderCancelled", "PaymentVoided"]
    retried = _send(start_api().url, order_id, "cancel", "cancel")
    assert (retried.status_code, retried.headers["Idempotent-Replayed"]) == (200, "true")
    assert retried.json()["payment"]["state"] == "voided"  # the reconciler answered it
    assert [a[:2] for a in _attempts(db, order_id)][1:] == [("void", "voided")]


def test_a_cancel_racing_an_authorization_never_leaves_a_hold_on_an_unusable_order(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    races = 20
    server = start_api(payment_slow_seconds="0.4")
    put_product(server.url, SKU, on_hand=races, price=PRICE)
    orders = [_placed(server.url, "tok_slow") for _ in range(races)]
    answers: dict[tuple[str, str], int] = {}
    rng = random.Random(7)

    def race(order_id: str) -> None:
        def send(verb: str, delay: float) -> None:
            time.sleep(delay)
            response = _send(server.url, order_id, verb, f"{verb}-{order_id}")
            answers[order_id, verb] = response.status_code

        # The cancel lands before, during or after the provider's 0.4 s authorization.
        threads = [
            threading.Thread(target=send, args=("authorize", 0.0)),
            threading.Thread(target=send, args=("cancel", rng.uniform(0.0, 0.6))),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    for batch in range(0, races, 5):
        racers = [threading.Thread(target=race, args=(o,)) for o in orders[batch : batch + 5]]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=60)

    for order_id in orders:
        status, payment, _ = _payment(db, order_id)
        attempts = [a[:2] for a in _attempts(db, order_id)]
        held = ("authorize", "approved") in attempts
        released = ("void", "voided") in attempts
        # A hold is either on an order that can be captured, or voided with the provider.
        usable = status == "AUTHORIZED" and payment == "authorized"
        assert not held or usable or released, (order_id, status, payment, attempts)
        assert all(state != "pending" for _, state in attempts), attempts
        outcome = (answers[order_id, "authorize"], answers[order_id, "cancel"])
        assert outcome in {(200, 200), (200, 409), (409, 200)}, outcome
    authorized = sum(_payment(db, order_id)[0] == "AUTHORIZED" for order_id in orders)
    assert _reserved(db) == authorized  # every cancelled order's stock released, once
    in_flight = "SELECT count(*) FROM audit_log WHERE problem_type = 'payment-in-flight'"
    assert db.execute(in_flight).fetchone() == (authorized,)  # the races did meet in flight
    assert authorized > 0
