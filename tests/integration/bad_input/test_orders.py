"""Bad PlaceOrder bodies (POST /v1/orders): shapes, types, members, limits, text, catalogue."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg

from tests.helpers.api import CHECKOUT_KEY
from tests.helpers.bad_requests import (
    DROP,
    SKU,
    Bad,
    RowCheck,
    World,
    invalid_order,
    invalid_raw_order,
    items,
    order,
    order_json,
    post_order,
    rows,
    send,
    surrogate_json,
    write_model,
)
from tests.helpers.problems import assert_problem

CASES: dict[str, Bad] = {
    # --- not an object
    "body-null": post_order(422, "validation", None, errors=True),
    "body-array": post_order(422, "validation", [], errors=True),
    "body-string": post_order(422, "validation", "order", errors=True),
    "body-empty-object": post_order(422, "validation", {}, errors=True),
    "body-empty-bytes": invalid_raw_order(b""),
    # --- wrong types
    "quantity-numeric-string": invalid_order({"items.0.quantity": "2"}),
    "quantity-float": invalid_order({"items.0.quantity": 2.0}),
    "quantity-fraction": invalid_order({"items.0.quantity": 1.5}),
    "quantity-bool": invalid_order({"items.0.quantity": True}),
    "quantity-null": invalid_order({"items.0.quantity": None}),
    "quantity-nan": invalid_raw_order(order_json().replace(b'"quantity": 1', b'"quantity": NaN')),
    "quantity-infinity": invalid_raw_order(
        order_json().replace(b'"quantity": 1', b'"quantity": 1e400')
    ),
    "customer-id-not-uuid": invalid_order({"customer.id": "customer-42"}),
    "customer-id-number": invalid_order({"customer.id": 42}),
    "email-without-at": invalid_order({"customer.email": "ada.example.com"}),
    "email-with-space": invalid_order({"customer.email": "ada lovelace@example.com"}),
    "customer-country-name": invalid_order({"customer.country": "germany"}),
    "ship-country-name": invalid_order({"shipping_address.country": "germany"}),
    "ship-country-lowercase": invalid_order({"shipping_address.country": "de"}),
    "sku-bad-characters": invalid_order({"items.0.sku": "SKU OK/../x"}),
    "items-object": invalid_order({"items": {"sku": SKU, "quantity": 1}}),
    "payment-token-with-space": invalid_order({"payment.token": "tok approve"}),
    "name-number": invalid_order({"customer.name": 42}),
    # --- missing members
    "missing-customer": invalid_order({"customer": DROP}),
    "missing-items": invalid_order({"items": DROP}),
    "missing-payment": invalid_order({"payment": DROP}),
    "missing-shipping-address": invalid_order({"shipping_address": DROP}),
    "missing-customer-email": invalid_order({"customer.email": DROP}),
    "missing-customer-id": invalid_order({"customer.id": DROP}),
    "missing-item-quantity": invalid_order({"items.0": {"sku": SKU}}),
    "missing-address-line1": invalid_order({"shipping_address.line1": DROP}),
    "missing-payment-token": invalid_order({"payment.token": DROP}),
    # --- unknown members, top level and nested
    "unknown-top-level": invalid_order({"coupon": "FREE"}),
    "unknown-in-customer": invalid_order({"customer.vip": True}),
    "unknown-in-item": invalid_order({"items.0": {"sku": SKU, "quantity": 1, "price": 1}}),
    "unknown-in-address": invalid_order({"shipping_address.line2": "Hinterhaus"}),
    "unknown-in-payment": invalid_order({"payment.amount": 1}),
    "unknown-lone-surrogate-member": invalid_raw_order(
        order_json().replace(b'{"customer"', b'{"\\ud800": 1, "customer"', 1)
    ),
    # --- huge, negative and zero numbers
    "quantity-10e30": invalid_order({"items.0.quantity": 10**30}),
    "quantity-2e63": invalid_order({"items.0.quantity": 2**63}),
    "quantity-over-max": invalid_order({"items.0.quantity": 1001}),
    "quantity-zero": invalid_order({"items.0.quantity": 0}),
    "quantity-negative": invalid_order({"items.0.quantity": -1}),
    "quantity-min-int64": invalid_order({"items.0.quantity": -(2**63)}),
    # --- too many, too long, empty
    "items-empty": invalid_order({"items": []}),
    "items-51": invalid_order({"items": items(51)}),
    "items-1000": invalid_order({"items": items(1000)}),
    "name-201-chars": invalid_order({"customer.name": "n" * 201}),
    "name-empty": invalid_order({"customer.name": ""}),
    "email-255-chars": invalid_order({"customer.email": "a" * 64 + "@" + "b" * 186 + ".com"}),
    "email-local-65-chars": invalid_order({"customer.email": "a" * 65 + "@example.com"}),
    "region-101-chars": invalid_order({"shipping_address.region": "r" * 101}),
    "city-empty": invalid_order({"shipping_address.city": ""}),
    "postal-code-21-chars": invalid_order({"shipping_address.postal_code": "1" * 21}),
    "line1-201-chars": invalid_order({"shipping_address.line1": "l" * 201}),
    "token-129-chars": invalid_order({"payment.token": "t" * 129}),
    "provider-33-chars": invalid_order({"payment.provider": "p" * 33}),
    "sku-65-chars": invalid_order({"items.0.sku": "S" * 65}),
    # --- text PostgreSQL cannot store: NUL and lone surrogates
    "nul-in-customer-name": invalid_order({"customer.name": "Ada\x00Lovelace"}),
    "nul-in-email": invalid_order({"customer.email": "ada\x00@example.com"}),
    "nul-in-city": invalid_order({"shipping_address.city": "\x00"}),
    "nul-in-provider": invalid_order({"payment.provider": "sandbox-card\x00"}),
    "lone-surrogate-in-customer-name": invalid_raw_order(surrogate_json("customer.name")),
    "lone-surrogate-in-line1": invalid_raw_order(surrogate_json("shipping_address.line1")),
    "lone-surrogate-in-provider": invalid_raw_order(surrogate_json("payment.provider")),
    "lone-low-surrogate-in-name": invalid_order({"customer.name": "\udfff"}),
    # --- well formed, but the catalogue or the rules say no
    "unknown-sku": post_order(422, "unknown-sku", order({"items.0.sku": "SKU-NOPE"})),
    "unknown-sku-after-a-known-one": post_order(
        422,
        "unknown-sku",
        order({"items": [{"sku": SKU, "quantity": 3}, {"sku": "SKU-ZZZ", "quantity": 1}]}),
    ),
    "unknown-payment-provider": post_order(
        422, "validation", order({"payment.provider": "paypal"})
    ),
    "same-sku-on-two-lines": post_order(
        422,
        "validation",
        order({"items": [{"sku": SKU, "quantity": 1}, {"sku": SKU, "quantity": 2}]}),
    ),
}


@rows(CASES)
def test_a_bad_order_gets_a_problem_and_changes_nothing(
    case: Bad, assert_refused: RowCheck
) -> None:
    assert_refused(case)


def test_the_table_is_seeded_as_the_rows_assume(world: World, db: psycopg.Connection[Any]) -> None:
    """Guards the "changes nothing" half: there is reserved stock and an order to disturb."""
    state = write_model(db)
    assert state["products"][0][:6] == (SKU, f"Product {SKU}", 1000, "EUR", 100, 2)
    assert [row[1:] for row in state["orders"]] == [(1, "PENDING_PAYMENT")]
    assert state["outbox"] == (1,)
    assert state["idempotency_receipts"] == (2,)


def test_a_refused_request_leaves_its_idempotency_key_free(
    world: World, db: psycopg.Connection[Any]
) -> None:
    """Bad input claims nothing: the same key then places the corrected order once."""
    key = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {CHECKOUT_KEY}", "Idempotency-Key": key}

    refused = [
        httpx.post(f"{world.url}/v1/orders", json=order({"items.0.quantity": 0}), headers=headers),
        httpx.post(
            f"{world.url}/v1/orders", json=order({"items.0.sku": "SKU-NOPE"}), headers=headers
        ),
        httpx.post(
            f"{world.url}/v1/orders", json=order({"payment.provider": "x"}), headers=headers
        ),
    ]
    placed = httpx.post(f"{world.url}/v1/orders", json=order(), headers=headers)

    assert [r.status_code for r in refused] == [422, 422, 422]
    assert placed.status_code == 201, placed.text
    assert placed.headers.get("Idempotent-Replayed") is None


def test_unknown_fields_are_named_in_the_errors(world: World) -> None:
    """The ``errors`` list says where the problem is (so clients can fix it)."""
    response = send(world, CASES["unknown-in-customer"])

    problem = assert_problem(response, 422, "validation")
    assert ["body", "customer", "vip"] in [e["loc"] for e in problem["errors"]], problem
