"""Payment authorization (§3): attempt → provider → result, timeouts, crashes, reconcile, capture."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import (
    OPS_KEY,
    authorize,
    command,
    order_body,
    place,
    put_product,
)
from tests.helpers.processes import ApiServer, reconcile_now
from tests.helpers.write_model import outbox_event_types

SKU = "SKU-PAY"
PRICE = 1500


def _placed(base_url: str, *, token: str = "tok_approve", qty: int = 2) -> str:
    put_product(base_url, SKU, on_hand=10, price=PRICE)
    response = place(base_url, order_body(items=[(SKU, qty)], token=token))
    assert response.status_code == 201, response.text
    return str(response.json()["order_id"])


def _attempts(db: psycopg.Connection[Any], order_id: str) -> list[tuple[uuid.UUID, str]]:
    sql = "SELECT id, status FROM payment_attempts WHERE order_id = %s ORDER BY created_at"
    return [(row[0], row[1]) for row in db.execute(sql, (order_id,))]


def _statuses(db: psycopg.Connection[Any], order_id: str) -> list[str]:
    return [status for _, status in _attempts(db, order_id)]


def _row(db: psycopg.Connection[Any], sql: str, *params: object) -> tuple[Any, ...]:
    found = db.execute(sql, params).fetchone()
    assert found is not None, sql
    return tuple(found)


def _order(db: psycopg.Connection[Any], order_id: str) -> tuple[Any, ...]:
    return _row(db, "SELECT status, version FROM orders WHERE id = %s", order_id)


def _stock(db: psycopg.Connection[Any]) -> tuple[Any, ...]:
    return _row(db, "SELECT on_hand, reserved, sold FROM products WHERE sku = %s", SKU)


def test_approval_authorizes_the_order_with_one_attempt_and_one_event(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _placed(api.url)
    response = authorize(api.url, order_id, "auth-ok")
    assert response.status_code == 200, response.text
    body = response.json()
    payment = body["payment"]
    assert (body["status"], body["version"], payment["state"]) == ("AUTHORIZED", 2, "authorized")
    assert payment["authorized"] == 2 * PRICE
    assert response.headers["ETag"] == '"2"'
    assert _order(db, order_id) == ("AUTHORIZED", 2)
    assert _statuses(db, order_id) == ["approved"]
    assert outbox_event_types(db, order_id) == ["OrderPlaced", "PaymentAuthorized"]
    assert _stock(db) == (10, 2, 0)  # authorization keeps the reservation


def test_decline_releases_the_reserved_stock(api: ApiServer, db: psycopg.Connection[Any]) -> None:
    order_id = _placed(api.url, token="tok_decline")
    assert _stock(db) == (10, 2, 0)
    response = authorize(api.url, order_id, "auth-declined")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "PAYMENT_DECLINED"
    assert response.json()["payment"]["decline_reason"] == "card_declined"
    assert _order(db, order_id) == ("PAYMENT_DECLINED", 2)
    assert _statuses(db, order_id) == ["declined"]
    assert outbox_event_types(db, order_id) == ["OrderPlaced", "PaymentDeclined"]
    assert _stock(db) == (10, 0, 0)
    assert _row(db, "SELECT stock_state FROM orders WHERE id = %s", order_id) == ("released",)


def test_authorize_replay_with_the_same_key_is_byte_identical(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _placed(api.url)
    first = authorize(api.url, order_id, "auth-twice")
    again = authorize(api.url, order_id, "auth-twice")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["ETag"] == first.headers["ETag"] == '"2"'
    assert len(_attempts(db, order_id)) == 1
    assert outbox_event_types(db, order_id).count("PaymentAuthorized") == 1


def test_authorize_with_a_new_key_after_authorization_is_an_illegal_transition(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _placed(api.url)
    assert authorize(api.url, order_id, "auth-first").status_code == 200
    refused = authorize(api.url, order_id, "auth-second")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/illegal-transition")
    assert _order(db, order_id) == ("AUTHORIZED", 2)
    assert len(_attempts(db, order_id)) == 1
    assert outbox_event_types(db, order_id) == ["OrderPlaced", "PaymentAuthorized"]
    audit = db.execute(
        "SELECT outcome, problem_type, version_before FROM audit_log WHERE idempotency_key = %s",
        ("auth-second",),
    )
    assert audit.fetchall() == [("rejected", "illegal-transition", 2)]


def test_provider_timeout_leaves_one_pending_attempt_that_reconcile_finishes(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    server = start_api(payment_timeout_seconds="0.5")
    order_id = _placed(server.url, token="tok_timeout")
    started = time.monotonic()
    response = authorize(server.url, order_id, "auth-timeout")
    assert time.monotonic() - started < 5
    assert response.status_code == 504, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/payment-timeout"
    [(attempt_id, _)] = _attempts(db, order_id)
    # A retry with the same key asks the provider again under the same attempt (its key there).
    assert authorize(server.url, order_id, "auth-timeout").status_code == 504
    assert _attempts(db, order_id) == [(attempt_id, "pending")]
    assert _order(db, order_id) == ("PENDING_PAYMENT", 1)
    assert outbox_event_types(db, order_id) == ["OrderPlaced"]

    assert "recorded 1" in reconcile_now(database_url)

    assert _order(db, order_id) == ("AUTHORIZED", 2)
    assert _attempts(db, order_id) == [(attempt_id, "approved")]
    assert outbox_event_types(db, order_id) == ["OrderPlaced", "PaymentAuthorized"]
    ref = uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-card/{attempt_id}").hex[:24]
    payment = _row(db, "SELECT authorization_ref FROM payments WHERE order_id = %s", order_id)
    assert payment == (f"auth_{ref}",)  # the provider saw the attempt id as its idempotency key
    assert "recorded 0" in reconcile_now(database_url)  # a second pass finds nothing to do


def test_crash_between_provider_call_and_result_is_finished_once(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    server = start_api(payment_slow_seconds="2")
    order_id = _placed(server.url, token="tok_slow")
    outcome: list[httpx.Response | Exception] = []

    def send() -> None:
        try:
            outcome.append(authorize(server.url, order_id, "auth-crash"))
        except httpx.HTTPError as error:
            outcome.append(error)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.7)
    assert _statuses(db, order_id) == ["pending"]
    server.kill9()
    sender.join(timeout=10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], httpx.HTTPError)  # the client never got an answer
    time.sleep(1.5)  # past the provider's delay: nothing finished the attempt behind our back
    assert _order(db, order_id) == ("PENDING_PAYMENT", 1)
    assert _statuses(db, order_id) == ["pending"]

    assert "recorded 1" in reconcile_now(database_url)
    assert _order(db, order_id) == ("AUTHORIZED", 2)
    assert outbox_event_types(db, order_id) == ["OrderPlaced", "PaymentAuthorized"]

    restarted = start_api()
    retried = authorize(restarted.url, order_id, "auth-crash")
    assert retried.status_code == 200, retried.text
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert (retried.json()["status"], retried.json()["version"]) == ("AUTHORIZED", 2)
    assert retried.headers["ETag"] == '"2"'
    assert _statuses(db, order_id) == ["approved"]
    assert outbox_event_types(db, order_id).count("PaymentAuthorized") == 1


def test_concurrent_authorizations_with_different_keys_each_get_a_replayable_answer(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    # Both requests reach the provider with the same attempt; the second to record finds it
    # finished. Its 200 must still be stored under its key (and audited), like any answer.
    server = start_api(payment_slow_seconds="1")
    order_id = _placed(server.url, token="tok_slow")
    answers: dict[str, httpx.Response] = {}

    def send(key: str) -> None:
        answers[key] = authorize(server.url, order_id, key)

    threads = [threading.Thread(target=send, args=(key,)) for key in ("auth-a", "auth-b")]
    threads[0].start()
    deadline = time.monotonic() + 5
    while not _attempts(db, order_id) and time.monotonic() < deadline:
        time.sleep(0.02)
    threads[1].start()
    for thread in threads:
        thread.join(timeout=30)
    assert {key: r.status_code for key, r in answers.items()} == {"auth-a": 200, "auth-b": 200}
    assert outbox_event_types(db, order_id) == ["OrderPlaced", "PaymentAuthorized"]
    assert _statuses(db, order_id) == ["approved"]
    for key, first in answers.items():
        again = authorize(server.url, order_id, key)
        replayed = again.headers.get("Idempotent-Replayed")
        assert (key, again.status_code, replayed) == (key, 200, "true"), again.text
        assert again.content == first.content
    audited = db.execute(
        "SELECT idempotency_key FROM audit_log WHERE command = 'authorize_payment' ORDER BY 1"
    ).fetchall()
    assert audited == [("auth-a",), ("auth-b",)]


def test_capture_turns_the_reservation_into_a_sale(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _placed(api.url, qty=3)
    assert authorize(api.url, order_id, "auth-cap").status_code == 200
    assert _stock(db) == (10, 3, 0)
    captured = command(api.url, order_id, "capture", "cap-1", OPS_KEY)
    assert captured.status_code == 200, captured.text
    body = captured.json()
    assert (body["status"], body["version"], body["stock"]) == ("CAPTURED", 3, "sold")
    assert body["payment"]["captured"] == 3 * PRICE
    assert _stock(db) == (7, 0, 3)
    assert outbox_event_types(db, order_id)[-1] == "PaymentCaptured"


def test_capture_above_the_authorized_amount_is_refused_and_changes_nothing(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _placed(api.url)
    assert authorize(api.url, order_id, "auth-over").status_code == 200
    too_much = {"amount": {"amount": 2 * PRICE + 1, "currency": "EUR"}}
    refused = command(api.url, order_id, "capture", "cap-over", OPS_KEY, too_much)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/capture-rule")
    assert _order(db, order_id) == ("AUTHORIZED", 2)
    assert _stock(db) == (10, 2, 0)
    assert outbox_event_types(db, order_id) == ["OrderPlaced", "PaymentAuthorized"]
    payment = _row(db, "SELECT captured, state FROM payments WHERE order_id = %s", order_id)
    assert payment == (0, "authorized")
    assert _row(db, "SELECT count(*) FROM idempotency_receipts WHERE key = 'cap-over'") == (0,)
