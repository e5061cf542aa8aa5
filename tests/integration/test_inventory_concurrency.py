"""Inventory writes under concurrency: ``If-Match`` on ``PUT /v1/inventory/{sku}`` is checked
against the locked row, and the product's version moves exactly when a field a PUT writes
changes (a restock, a sale) and not when orders reserve or release stock.

Real API process, real PostgreSQL; the test holds the product's row so that every PUT under
test is queued on it before any of them runs.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import (
    CHECKOUT_KEY,
    OPS_KEY,
    command,
    headers,
    order_body,
    place,
    put_product,
)
from tests.helpers.locks import row_locked, wait_for_lock_waiters
from tests.helpers.processes import ApiServer
from tests.helpers.stores import plain_dsn

SKU = "SKU-STOCK"


def _put(base_url: str, on_hand: int, if_match: int | None = None) -> httpx.Response:
    extra = {"If-Match": f'"{if_match}"'} if if_match is not None else {}
    return httpx.put(
        f"{base_url}/v1/inventory/{SKU}",
        json={
            "name": "Mug",
            "unit_price": {"amount": 1500, "currency": "EUR"},
            "on_hand": on_hand,
        },
        headers=headers(OPS_KEY, str(uuid.uuid4()), **extra),
        timeout=30,
    )


def _product(base_url: str) -> dict[str, Any]:
    got = httpx.get(f"{base_url}/v1/inventory/{SKU}", headers=headers(OPS_KEY))
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_restocks_sent_together_with_the_same_if_match_one_applies_the_others_get_412(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    server = start_api(db_lock_timeout_ms="20000")
    assert _put(server.url, on_hand=10).status_code == 201
    answers: list[httpx.Response] = []

    def restock(on_hand: int) -> None:
        answers.append(_put(server.url, on_hand, if_match=1))

    product = "SELECT sku FROM products WHERE sku = %s FOR UPDATE"
    with row_locked(plain_dsn(database_url), product, SKU):
        senders = [threading.Thread(target=restock, args=(20 + n,)) for n in range(5)]
        for sender in senders:
            sender.start()
        wait_for_lock_waiters(db, len(senders))  # all five read version 1 before any writes
    for sender in senders:
        sender.join(timeout=30)

    assert Counter(r.status_code for r in answers) == {200: 1, 412: 4}, [r.text for r in answers]
    [applied] = [r for r in answers if r.status_code == 200]
    assert (applied.json()["version"], applied.headers["ETag"]) == (2, '"2"')
    for refused in (r for r in answers if r.status_code == 412):
        assert refused.json()["type"].endswith("/version-conflict")
    row = db.execute("SELECT on_hand, version FROM products WHERE sku = %s", (SKU,)).fetchone()
    assert row == (applied.json()["on_hand"], 2)


def test_reservations_keep_the_version_so_a_restock_read_before_an_order_still_applies(
    db: psycopg.Connection[Any], api: ApiServer
) -> None:
    # A reservation changes only ``reserved``, which a PUT never writes (and the PUT's own
    # guard, on_hand ≥ reserved, is evaluated on the locked row): ops' read stays current.
    put_product(api.url, SKU, on_hand=10, price=1500)
    read = _product(api.url)
    placed = place(api.url, order_body(items=[(SKU, 3)]))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    assert (_product(api.url)["reserved"], _product(api.url)["version"]) == (3, read["version"])
    cancelled = command(api.url, order_id, "cancel", str(uuid.uuid4()), CHECKOUT_KEY)
    assert cancelled.status_code == 200, cancelled.text
    assert (_product(api.url)["reserved"], _product(api.url)["version"]) == (0, read["version"])

    restocked = _put(api.url, on_hand=25, if_match=read["version"])
    assert restocked.status_code == 200, restocked.text
    assert restocked.json()["version"] == read["version"] + 1


def test_a_sale_bumps_the_version_so_a_restock_computed_before_it_is_refused(
    db: psycopg.Connection[Any], api: ApiServer
) -> None:
    # A capture takes the sold units off ``on_hand``, the very field a restock sets: a PUT
    # computed from the count before the sale would silently put them back on the shelf.
    put_product(api.url, SKU, on_hand=10, price=1500)
    read = _product(api.url)
    placed = place(api.url, order_body(items=[(SKU, 2)]))
    order_id = placed.json()["order_id"]
    authorized = command(api.url, order_id, "authorize", str(uuid.uuid4()), CHECKOUT_KEY)
    assert authorized.status_code == 200, authorized.text
    captured = command(api.url, order_id, "capture", str(uuid.uuid4()), OPS_KEY)
    assert captured.status_code == 200, captured.text
    after = _product(api.url)
    assert (after["on_hand"], after["sold"], after["version"]) == (8, 2, read["version"] + 1)

    stale = _put(api.url, on_hand=read["on_hand"] + 10, if_match=read["version"])
    assert stale.status_code == 412, stale.text
    assert _product(api.url)["on_hand"] == 8
    current = _put(api.url, on_hand=after["on_hand"] + 10, if_match=after["version"])
    assert (current.status_code, current.json()["on_hand"]) == (200, 18)


def test_an_if_match_on_a_sku_nobody_stocks_is_412_and_creates_nothing(
    db: psycopg.Connection[Any], api: ApiServer
) -> None:
    # A client that believes it is updating version 1 of a product must not create one.
    refused = _put(api.url, on_hand=5, if_match=1)
    assert refused.status_code == 412, refused.text
    assert refused.json()["current_version"] == 0
    missing = httpx.get(f"{api.url}/v1/inventory/{SKU}", headers=headers(OPS_KEY))
    assert missing.status_code == 404, missing.text
    created = _put(api.url, on_hand=5)
    assert (created.status_code, created.json()["version"]) == (201, 1)
