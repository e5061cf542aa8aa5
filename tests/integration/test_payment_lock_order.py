"""Authorizations of one order never deadlock: every step locks the request's receipt, then the
order, then the payment attempt, whoever runs it (a first call, a retry, the reconciler).

Real API and reconciler processes on the real database; the sandbox provider's tokens set the
timing (``tok_slow`` answers late, ``tok_timeout`` never in time).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from tests.helpers.api import authorize, order_body, place, put_product
from tests.helpers.locks import row_locked, wait_for_lock_waiters
from tests.helpers.processes import ApiServer, worker_env
from tests.helpers.stores import ROOT, plain_dsn
from tests.helpers.waiting import wait_until
from tests.helpers.write_model import outbox_event_types

SKU = "SKU-LOCKS"


def _placed(base_url: str, token: str) -> str:
    response = place(base_url, order_body(items=[(SKU, 1)], token=token))
    assert response.status_code == 201, response.text
    return str(response.json()["order_id"])


def _attempts(db: psycopg.Connection[Any], order_id: str) -> list[str]:
    sql = "SELECT status FROM payment_attempts WHERE order_id = %s ORDER BY created_at"
    return [row[0] for row in db.execute(sql, (order_id,))]


def test_a_provider_answer_and_a_retry_with_another_key_queue_instead_of_deadlocking(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    # The interleaving that deadlocked when the last step locked the attempt before the order
    # and the first step the order before the attempt: the first request's last step waits
    # for the attempt while a second request (another key) holds the order and waits for the
    # attempt too. The test holds the attempt's row so that both are queued on it, then lets
    # go. With one lock order the second request simply waits for the first one's answer.
    server = start_api(payment_slow_seconds="1", db_lock_timeout_ms="20000")
    put_product(server.url, SKU, on_hand=5)
    order_id = _placed(server.url, "tok_slow")
    answers: dict[str, httpx.Response] = {}

    def send(key: str) -> None:
        answers[key] = authorize(server.url, order_id, key)

    first = threading.Thread(target=send, args=("auth-first",))
    first.start()
    wait_until(lambda: _attempts(db, order_id) == ["pending"], 10, "the attempt is recorded")
    attempt = "SELECT id FROM payment_attempts WHERE order_id = %s FOR UPDATE"
    with row_locked(plain_dsn(database_url), attempt, order_id):
        wait_for_lock_waiters(db, 1)  # the provider answered: the last step waits
        second = threading.Thread(target=send, args=("auth-second",))
        second.start()
        wait_for_lock_waiters(db, 2)  # the second request is queued as well
    first.join(timeout=30)
    second.join(timeout=30)

    assert {key: r.status_code for key, r in answers.items()} == {
        "auth-first": 200,
        "auth-second": 409,  # it waited for the first request, then found the order authorized
    }, {key: r.text for key, r in answers.items()}
    assert answers["auth-second"].json()["type"].endswith("/illegal-transition")
    assert outbox_event_types(db, order_id) == ["OrderPlaced", "PaymentAuthorized"]
    assert _attempts(db, order_id) == ["approved"]


def test_a_reconciler_record_and_a_same_key_retry_queue_on_the_receipt_first(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    # After a 504 the client retries with the same key while the reconciler records the
    # provider's answer under that key. The retry's claim locks the receipt before the order;
    # a reconciler that locked the order first and wrote the receipt last would hold what the
    # retry waits for and wait for what it holds. The test holds the order so that the
    # reconciler comes first, then the retry.
    settings = {"db_lock_timeout_ms": "20000"}
    server = start_api(payment_timeout_seconds="0.3", **settings)
    put_product(server.url, SKU, on_hand=5)
    order_id = _placed(server.url, "tok_timeout")
    assert authorize(server.url, order_id, "auth-504").status_code == 504
    answers: list[httpx.Response] = []
    order = "SELECT id FROM orders WHERE id = %s FOR UPDATE"
    with row_locked(plain_dsn(database_url), order, order_id):
        reconciler = subprocess.Popen(
            [sys.executable, "-m", "orders_cqrs.entrypoints.cli", "reconcile", "--older-than", "0"],
            cwd=ROOT,
            env={**os.environ, **worker_env(database_url, settings)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_for_lock_waiters(db, 1, seconds=30)  # the reconciler's record waits
        retry = threading.Thread(
            target=lambda: answers.append(authorize(server.url, order_id, "auth-504"))
        )
        retry.start()
        wait_for_lock_waiters(db, 2)  # and the retry too
    retry.join(timeout=30)
    output = reconciler.communicate(timeout=30)[0].decode()

    assert reconciler.returncode == 0, output[-3000:]
    assert "recorded 1" in output, output[-3000:]
    [answer] = answers
    assert (answer.status_code, answer.headers.get("Idempotent-Replayed")) == (200, "true")
    assert answer.json()["status"] == "AUTHORIZED"
    assert outbox_event_types(db, order_id) == ["OrderPlaced", "PaymentAuthorized"]


def _reconcile_loop(database_url: str, log: Any) -> subprocess.Popen[bytes]:
    args = ["reconcile", "--loop", "--older-than", "0", "--interval", "0.05"]
    return subprocess.Popen(
        [sys.executable, "-m", "orders_cqrs.entrypoints.cli", *args],
        cwd=ROOT,
        env={**os.environ, **worker_env(database_url, {"db_lock_timeout_ms": "20000"})},
        stdout=log,
        stderr=log,
    )


def test_concurrent_authorize_retries_and_reconcile_passes_never_deadlock(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    # Clients retry authorizations of the same orders with new keys and with the keys of
    # requests that timed out, while a reconciler loop records the provider's answers of the
    # same attempts: every lock taken on these orders is contended. A deadlock would show as
    # a 503 store-busy answer (PostgreSQL aborts one of the two transactions) or end the
    # reconciler's loop.
    server = start_api(
        payment_slow_seconds="0.15", payment_timeout_seconds="0.3", db_lock_timeout_ms="20000"
    )
    put_product(server.url, SKU, on_hand=1000)
    orders = [_placed(server.url, "tok_timeout" if n % 2 else "tok_slow") for n in range(16)]
    with tempfile.TemporaryFile() as log:
        reconciler = _reconcile_loop(database_url, log)
        try:
            requests = [
                (order_id, key)
                for order_id in orders
                for key in [str(uuid.uuid4()) for _ in range(3)] * 2  # each key sent twice
            ]

            def send(request: tuple[str, str]) -> int:
                return authorize(server.url, *request).status_code

            with ThreadPoolExecutor(max_workers=24) as pool:
                codes = Counter(pool.map(send, requests))
            wait_until(
                lambda: all(_attempts(db, o)[-1:] == ["approved"] for o in orders),
                30,
                "every attempt reconciled",
            )
            alive = reconciler.poll() is None
        finally:
            reconciler.send_signal(signal.SIGTERM)
            reconciler.wait(timeout=30)
        log.seek(0)
        output = log.read().decode()
    assert alive, output[-3000:]
    assert "40P01" not in output and "deadlock" not in output.lower(), output[-3000:]
    # 200 (authorized, or a replay), 409 (already authorized, or the key is mid-call), 504
    # (the provider timed out): never 503.
    assert set(codes) <= {200, 409, 504}, codes
    assert codes[200] >= len(orders) // 2, codes
    for order_id in orders:
        assert outbox_event_types(db, order_id) == ["OrderPlaced", "PaymentAuthorized"], order_id
        assert _attempts(db, order_id) == ["approved"], order_id
