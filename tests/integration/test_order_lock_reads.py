"""A command that waits for an order's lock sees everything the command before it committed:
the order's payment included, not only the order row (the bug: a READ COMMITTED read with
``FOR UPDATE OF o`` re-read the locked row alone once it got the lock)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import psycopg

from tests.helpers.api import OPS_KEY, command, order_body, place, put_product
from tests.helpers.processes import ApiServer
from tests.helpers.stores import plain_dsn

SKU = "SKU-LOCKREAD"


def test_a_capture_queued_behind_an_authorization_sees_the_authorized_amount(
    api: ApiServer, db: psycopg.Connection[Any], database_url: str
) -> None:
    put_product(api.url, SKU, on_hand=5, price=900)
    placed = place(api.url, order_body(items=[(SKU, 2)], token="tok_approve"))
    order_id = placed.json()["order_id"]
    captured: list[httpx.Response] = []
    with psycopg.connect(plain_dsn(database_url)) as authorizing:
        # An authorization's result, written under the order's lock and not yet committed.
        authorizing.execute("SELECT 1 FROM orders WHERE id = %s FOR UPDATE", (order_id,))
        authorizing.execute(
            "UPDATE payments SET state = 'authorized', authorized = 1800,"
            " authorization_ref = 'auth_x' WHERE order_id = %s",
            (order_id,),
        )
        authorizing.execute(
            "UPDATE orders SET status = 'AUTHORIZED', version = 2 WHERE id = %s", (order_id,)
        )
        capture = threading.Thread(
            target=lambda: captured.append(command(api.url, order_id, "capture", "cap", OPS_KEY))
        )
        capture.start()
        time.sleep(1.0)  # the capture is waiting for the order's lock
        authorizing.commit()
    capture.join(timeout=30)

    assert captured[0].status_code == 200, captured[0].text
    assert captured[0].json()["payment"]["captured"] == 1800
    payment = db.execute("SELECT state, authorized FROM payments WHERE order_id = %s", (order_id,))
    assert payment.fetchone() == ("captured", 1800)
