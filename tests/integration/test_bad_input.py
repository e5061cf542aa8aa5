"""Bad input, table-driven, over real HTTP against a real ``orders-cqrs api`` process (DESIGN §4).

Each row is one bad request. Every answer must be the listed status as an RFC 9457
``application/problem+json`` document (type/title/status/detail, ``status`` equal to the HTTP
status, the listed stable ``type``), never a 5xx, and the request must change nothing: before
each row the database holds one product with reserved stock and one placed order, and
afterwards the write model (orders, lines, payments, attempts, outbox, idempotency receipts,
refunds, shipments, notes, every product's counters) is exactly as it was. Refused commands
may add an audit row; that is by design, so the audit log is not compared.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, SUPPORT_KEY, order_body, place, put_product
from tests.helpers.processes import ApiServer, worker_env

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:orders-cqrs:problem:"
MAX_BODY = 64 * 1024
SKU = "SKU-OK"
ORDER = "/v1/orders/{order}"  # the seeded order
MISSING = "/v1/orders/{missing}"  # a well-formed id no order has
DROP = object()  # marks a member to remove from a body
NO_BODY = object()


# ----------------------------------------------------------------------------- body builders


def _edit(body: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` with dotted paths (``items.0.quantity``) set, or removed with DROP."""
    result = copy.deepcopy(body)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node: Any = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is DROP:
            del node[last]
        else:
            node[last] = value
    return result


def order(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid PlaceOrder body for the seeded SKU, with ``changes``."""
    return _edit(order_body(items=[(SKU, 1)]), changes or {})


def product(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid PutProduct body, with ``changes``."""
    body = {"name": "Mug", "unit_price": {"amount": 1000, "currency": "EUR"}, "on_hand": 100}
    return _edit(body, changes or {})


def refund(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A well-formed IssueRefund body, with ``changes``."""
    body = {"amount": {"amount": 100, "currency": "EUR"}, "reason": "damaged"}
    return _edit(body, changes or {})


def ship(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A well-formed ShipOrder body, with ``changes``."""
    return _edit({"carrier": "DHL", "tracking_number": "00340434161234567890"}, changes or {})


def items(count: int) -> list[dict[str, Any]]:
    """``count`` distinct order lines."""
    return [{"sku": f"SKU-{n}", "quantity": 1} for n in range(count)]


def oversized_order() -> bytes:
    """A valid-looking PlaceOrder body just over the 64 KiB cap."""
    text = json.dumps(order({"customer.name": "x"}))
    padding = MAX_BODY + 1 - len(text) + len('"x"') - 2
    return text.replace('"x"', json.dumps("x" * padding), 1).encode()


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Bad:
    """One bad request and the problem it must get."""

    method: str
    path: str  # ``{order}``: the seeded order's id; ``{missing}``: a random UUID
    status: int
    kind: str  # the problem type after ``urn:orders-cqrs:problem:``
    body: Any = NO_BODY  # serialized with json.dumps (lone surrogates become raw \\ud800 escapes)
    raw: bytes | None = None  # sent as is instead of ``body``
    content_type: str | None = "application/json"
    key: str | None = CHECKOUT_KEY
    idempotency_key: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    errors: bool = False  # a validation problem with an ``errors`` list


def post_order(status: int, kind: str, body: Any, **options: Any) -> Bad:
    return Bad("POST", "/v1/orders", status, kind, body=body, **options)


def invalid_order(changes: dict[str, Any]) -> Bad:
    return post_order(422, "validation", order(changes), errors=True)


def invalid_product(changes: dict[str, Any]) -> Bad:
    return Bad(
        "PUT", f"/v1/inventory/{SKU}", 422, "validation", product(changes), key=OPS_KEY, errors=True
    )


def invalid_refund(changes: dict[str, Any]) -> Bad:
    return Bad(
        "POST", f"{ORDER}/refunds", 422, "validation", refund(changes), key=SUPPORT_KEY, errors=True
    )


def surrogate_json(path: str) -> bytes:
    """A PlaceOrder body whose ``path`` string is a lone surrogate written as a JSON escape."""
    text = json.dumps(order({path: "@@lone@@"}))
    assert '"@@lone@@"' in text
    return text.replace('"@@lone@@"', r'"Ada \ud800 Lovelace"').encode()


CASES: dict[str, Bad] = {
    # --- not JSON at all: 400 malformed-request
    "malformed-json-truncated": post_order(400, "malformed-request", None, raw=b'{"customer": '),
    "malformed-json-trailing-comma": post_order(
        400, "malformed-request", None, raw=b'{"items": [],}'
    ),
    "malformed-json-single-quotes": post_order(400, "malformed-request", None, raw=b"{'a': 1}"),
    "malformed-json-invalid-utf8": post_order(
        400,
        "malformed-request",
        None,
        raw=json.dumps(order()).encode().replace(b"Ada", b"\xff\xfe"),
    ),
    "malformed-json-nested-too-deep": post_order(
        400, "malformed-request", None, raw=b"[" * 30_000 + b"]" * 30_000
    ),
    "malformed-json-5000-digit-number": post_order(
        400,
        "malformed-request",
        None,
        raw=b'{"items": [{"sku": "SKU-OK", "quantity": 1' + b"0" * 5000 + b"}]}",
    ),
    "malformed-json-on-command": Bad(
        "POST", f"{ORDER}/cancel", 400, "malformed-request", raw=b'{"reason": "x"'
    ),
    "malformed-json-on-inventory": Bad(
        "PUT", f"/v1/inventory/{SKU}", 400, "malformed-request", raw=b"{", key=OPS_KEY
    ),
    # --- not JSON by content type: 415 before anything parses it
    "text-plain": post_order(415, "unsupported-media-type", order(), content_type="text/plain"),
    "form-urlencoded": post_order(
        415,
        "unsupported-media-type",
        None,
        raw=b"a=1",
        content_type="application/x-www-form-urlencoded",
    ),
    "xml": post_order(
        415, "unsupported-media-type", None, raw=b"<order/>", content_type="application/xml"
    ),
    "no-content-type": post_order(415, "unsupported-media-type", order(), content_type=None),
    "text-plain-chunked": post_order(
        415, "unsupported-media-type", order(), content_type="text/plain", chunked=True
    ),
    "text-plain-on-inventory": Bad(
        "PUT",
        f"/v1/inventory/{SKU}",
        415,
        "unsupported-media-type",
        product(),
        content_type="text/plain",
        key=OPS_KEY,
    ),
    "text-plain-on-notes": Bad(
        "POST",
        f"{ORDER}/notes",
        415,
        "unsupported-media-type",
        {"body": "hi"},
        content_type="text/plain",
        key=SUPPORT_KEY,
    ),
    # --- too big: 413, declared or streamed
    "body-over-64k-content-length": post_order(
        413, "payload-too-large", None, raw=oversized_order()
    ),
    "body-over-64k-chunked": post_order(
        413, "payload-too-large", None, raw=oversized_order(), chunked=True
    ),
    "body-1mb-content-length": post_order(
        413, "payload-too-large", None, raw=b" " * 1_000_000 + b"{}"
    ),
    "body-1mb-chunked": post_order(
        413, "payload-too-large", None, raw=b" " * 1_000_000 + b"{}", chunked=True
    ),
    "body-over-64k-on-notes": Bad(
        "POST", f"{ORDER}/notes", 413, "payload-too-large", {"body": "x" * 70_000}, key=SUPPORT_KEY
    ),
    "body-over-64k-on-inventory": Bad(
        "PUT",
        f"/v1/inventory/{SKU}",
        413,
        "payload-too-large",
        product({"name": "x" * 70_000}),
        key=OPS_KEY,
        chunked=True,
    ),
    # --- not an object
    "body-null": post_order(422, "validation", None, errors=True),
    "body-array": post_order(422, "validation", [], errors=True),
    "body-string": post_order(422, "validation", "order", errors=True),
    "body-empty-object": post_order(422, "validation", {}, errors=True),
    "body-empty-bytes": post_order(422, "validation", None, raw=b"", errors=True),
    # --- wrong types
    "quantity-numeric-string": invalid_order({"items.0.quantity": "2"}),
    "quantity-float": invalid_order({"items.0.quantity": 2.0}),
    "quantity-fraction": invalid_order({"items.0.quantity": 1.5}),
    "quantity-bool": invalid_order({"items.0.quantity": True}),
    "quantity-null": invalid_order({"items.0.quantity": None}),
    "quantity-nan": post_order(
        422,
        "validation",
        None,
        errors=True,
        raw=json.dumps(order()).replace('"quantity": 1', '"quantity": NaN').encode(),
    ),
    "quantity-infinity": post_order(
        422,
        "validation",
        None,
        errors=True,
        raw=json.dumps(order()).replace('"quantity": 1', '"quantity": 1e400').encode(),
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
    "price-amount-fraction": invalid_product({"unit_price.amount": 19.98}),
    "price-amount-string": invalid_product({"unit_price.amount": "1998"}),
    "price-currency-EURO": invalid_product({"unit_price.currency": "EURO"}),
    "price-currency-XXX": invalid_product({"unit_price.currency": "XXX"}),
    "price-currency-lowercase": invalid_product({"unit_price.currency": "eur"}),
    "price-as-number": invalid_product({"unit_price": 1998}),
    "on-hand-float": invalid_product({"on_hand": 10.0}),
    "refund-amount-fraction": invalid_refund({"amount.amount": 19.98}),
    "refund-currency-EURO": invalid_refund({"amount.currency": "EURO"}),
    "capture-amount-fraction": Bad(
        "POST",
        f"{ORDER}/capture",
        422,
        "validation",
        {"amount": {"amount": 19.98, "currency": "EUR"}},
        key=OPS_KEY,
        errors=True,
    ),
    "cancel-body-array": Bad("POST", f"{ORDER}/cancel", 422, "validation", [], errors=True),
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
    "missing-price-currency": invalid_product({"unit_price.currency": DROP}),
    "missing-on-hand": invalid_product({"on_hand": DROP}),
    "missing-refund-reason": invalid_refund({"reason": DROP}),
    "missing-tracking-number": Bad(
        "POST",
        f"{ORDER}/ship",
        422,
        "validation",
        ship({"tracking_number": DROP}),
        key=OPS_KEY,
        errors=True,
    ),
    # --- unknown members, top level and nested
    "unknown-top-level": invalid_order({"coupon": "FREE"}),
    "unknown-in-customer": invalid_order({"customer.vip": True}),
    "unknown-in-item": invalid_order({"items.0": {"sku": SKU, "quantity": 1, "price": 1}}),
    "unknown-in-address": invalid_order({"shipping_address.line2": "Hinterhaus"}),
    "unknown-in-payment": invalid_order({"payment.amount": 1}),
    "unknown-in-product": invalid_product({"reserved": 0}),
    "unknown-in-price": invalid_product({"unit_price.tax": 19}),
    "unknown-in-note": Bad(
        "POST",
        f"{ORDER}/notes",
        422,
        "validation",
        {"body": "hi", "pinned": True},
        key=SUPPORT_KEY,
        errors=True,
    ),
    "unknown-lone-surrogate-member": post_order(
        422,
        "validation",
        None,
        errors=True,
        raw=json.dumps(order()).replace('{"customer"', '{"\\ud800": 1, "customer"', 1).encode(),
    ),
    # --- huge, negative and zero numbers
    "quantity-10e30": invalid_order({"items.0.quantity": 10**30}),
    "quantity-2e63": invalid_order({"items.0.quantity": 2**63}),
    "quantity-over-max": invalid_order({"items.0.quantity": 1001}),
    "quantity-zero": invalid_order({"items.0.quantity": 0}),
    "quantity-negative": invalid_order({"items.0.quantity": -1}),
    "quantity-min-int64": invalid_order({"items.0.quantity": -(2**63)}),
    "price-2e63": invalid_product({"unit_price.amount": 2**63}),
    "price-10e30": invalid_product({"unit_price.amount": 10**30}),
    "price-over-max": invalid_product({"unit_price.amount": 10**12 + 1}),
    "price-negative": invalid_product({"unit_price.amount": -1}),
    "on-hand-negative": invalid_product({"on_hand": -1}),
    "on-hand-2e31": invalid_product({"on_hand": 2**31}),
    "on-hand-10e30": invalid_product({"on_hand": 10**30}),
    "refund-amount-zero": invalid_refund({"amount.amount": 0}),
    "refund-amount-negative": invalid_refund({"amount.amount": -500}),
    "refund-amount-2e63": invalid_refund({"amount.amount": 2**63}),
    "capture-amount-zero": Bad(
        "POST",
        f"{ORDER}/capture",
        422,
        "validation",
        {"amount": {"amount": 0, "currency": "EUR"}},
        key=OPS_KEY,
        errors=True,
    ),
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
    "product-name-201-chars": invalid_product({"name": "n" * 201}),
    "note-2001-chars": Bad(
        "POST",
        f"{ORDER}/notes",
        422,
        "validation",
        {"body": "n" * 2001},
        key=SUPPORT_KEY,
        errors=True,
    ),
    "note-empty": Bad(
        "POST", f"{ORDER}/notes", 422, "validation", {"body": ""}, key=SUPPORT_KEY, errors=True
    ),
    "cancel-reason-501-chars": Bad(
        "POST", f"{ORDER}/cancel", 422, "validation", {"reason": "r" * 501}, errors=True
    ),
    "refund-reason-501-chars": invalid_refund({"reason": "r" * 501}),
    "carrier-65-chars": Bad(
        "POST",
        f"{ORDER}/ship",
        422,
        "validation",
        ship({"carrier": "c" * 65}),
        key=OPS_KEY,
        errors=True,
    ),
    "tracking-129-chars": Bad(
        "POST",
        f"{ORDER}/ship",
        422,
        "validation",
        ship({"tracking_number": "t" * 129}),
        key=OPS_KEY,
        errors=True,
    ),
    "sku-path-65-chars": Bad(
        "PUT", "/v1/inventory/" + "S" * 65, 422, "validation", product(), key=OPS_KEY, errors=True
    ),
    "sku-path-bad-characters": Bad(
        "PUT", "/v1/inventory/%20x%00", 422, "validation", product(), key=OPS_KEY, errors=True
    ),
    # --- text PostgreSQL cannot store: NUL and lone surrogates
    "nul-in-customer-name": invalid_order({"customer.name": "Ada\x00Lovelace"}),
    "nul-in-email": invalid_order({"customer.email": "ada\x00@example.com"}),
    "nul-in-city": invalid_order({"shipping_address.city": "\x00"}),
    "nul-in-provider": invalid_order({"payment.provider": "sandbox-card\x00"}),
    "nul-in-product-name": invalid_product({"name": "Mug\x00"}),
    "nul-in-note": Bad(
        "POST",
        f"{ORDER}/notes",
        422,
        "validation",
        {"body": "a\x00b"},
        key=SUPPORT_KEY,
        errors=True,
    ),
    "nul-in-cancel-reason": Bad(
        "POST", f"{ORDER}/cancel", 422, "validation", {"reason": "\x00"}, errors=True
    ),
    "nul-in-refund-reason": invalid_refund({"reason": "late\x00"}),
    "nul-in-carrier": Bad(
        "POST",
        f"{ORDER}/ship",
        422,
        "validation",
        ship({"carrier": "D\x00HL"}),
        key=OPS_KEY,
        errors=True,
    ),
    "lone-surrogate-in-customer-name": post_order(
        422, "validation", None, raw=surrogate_json("customer.name"), errors=True
    ),
    "lone-surrogate-in-line1": post_order(
        422, "validation", None, raw=surrogate_json("shipping_address.line1"), errors=True
    ),
    "lone-surrogate-in-provider": post_order(
        422, "validation", None, raw=surrogate_json("payment.provider"), errors=True
    ),
    "lone-low-surrogate-in-name": invalid_order({"customer.name": "\udfff"}),
    "lone-surrogate-in-product-name": invalid_product({"name": "Mug \ud800"}),
    "lone-surrogate-in-note": Bad(
        "POST",
        f"{ORDER}/notes",
        422,
        "validation",
        {"body": "\ud83d"},
        key=SUPPORT_KEY,
        errors=True,
    ),
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
    "stock-below-reserved": Bad(
        "PUT",
        f"/v1/inventory/{SKU}",
        409,
        "inventory-conflict",
        product({"on_hand": 1}),
        key=OPS_KEY,
    ),
    # --- the envelope: Idempotency-Key
    "missing-idempotency-key-place": post_order(
        422, "validation", order(), idempotency_key=False, errors=True
    ),
    "missing-idempotency-key-inventory": Bad(
        "PUT",
        f"/v1/inventory/{SKU}",
        422,
        "validation",
        product(),
        key=OPS_KEY,
        idempotency_key=False,
        errors=True,
    ),
    "missing-idempotency-key-note": Bad(
        "POST",
        f"{ORDER}/notes",
        422,
        "validation",
        {"body": "hi"},
        key=SUPPORT_KEY,
        idempotency_key=False,
        errors=True,
    ),
    "missing-idempotency-key-cancel": Bad(
        "POST", f"{ORDER}/cancel", 422, "validation", idempotency_key=False, errors=True
    ),
    "idempotency-key-with-space": post_order(
        422,
        "validation",
        order(),
        idempotency_key=False,
        headers={"Idempotency-Key": "a b"},
        errors=True,
    ),
    "idempotency-key-256-chars": post_order(
        422,
        "validation",
        order(),
        idempotency_key=False,
        headers={"Idempotency-Key": "k" * 256},
        errors=True,
    ),
    "idempotency-key-empty": post_order(
        422,
        "validation",
        order(),
        idempotency_key=False,
        headers={"Idempotency-Key": ""},
        errors=True,
    ),
    # --- path ids
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
    "unknown-product": Bad("GET", "/v1/inventory/SKU-NOPE", 404, "not-found", key=OPS_KEY),
    # --- reads
    "read-order-id-not-uuid": Bad("GET", "/v1/orders/order-42", 422, "validation", errors=True),
    "read-min-version-zero": Bad("GET", ORDER + "?min_version=0", 422, "validation", errors=True),
    "read-min-version-text": Bad(
        "GET", ORDER + "?min_version=latest", 422, "validation", errors=True
    ),
    "read-min-version-2e63": Bad(
        "GET", ORDER + f"?min_version={2**63}", 422, "validation", errors=True
    ),
    "customer-orders-limit-0": Bad(
        "GET", f"/v1/customers/{uuid.UUID(int=1)}/orders?limit=0", 422, "validation", errors=True
    ),
    "customer-orders-limit-huge": Bad(
        "GET",
        f"/v1/customers/{uuid.UUID(int=1)}/orders?limit={10**30}",
        422,
        "validation",
        errors=True,
    ),
    "customer-orders-id-not-uuid": Bad(
        "GET", "/v1/customers/ada/orders", 422, "validation", errors=True
    ),
    # --- projection admin: its body is a request body like any other
    "replay-ids-numeric-strings": Bad(
        "POST",
        "/v1/projections/summary/dead-letters/replay",
        422,
        "validation",
        {"ids": ["1", "2"]},
        key=OPS_KEY,
        errors=True,
    ),
    "replay-ids-floats": Bad(
        "POST",
        "/v1/projections/summary/dead-letters/replay",
        422,
        "validation",
        {"ids": [1.0]},
        key=OPS_KEY,
        errors=True,
    ),
    "replay-ids-object": Bad(
        "POST",
        "/v1/projections/summary/dead-letters/replay",
        422,
        "validation",
        {"ids": {"1": True}},
        key=OPS_KEY,
        errors=True,
    ),
    "replay-unknown-member": Bad(
        "POST",
        "/v1/projections/summary/dead-letters/replay",
        422,
        "validation",
        {"all": True},
        key=OPS_KEY,
        errors=True,
    ),
    "replay-unknown-projection": Bad(
        "POST", "/v1/projections/nope/dead-letters/replay", 404, "not-found", key=OPS_KEY
    ),
    "projection-name-invalid": Bad(
        "GET", "/v1/projections/NOPE!/dead-letters", 422, "validation", key=OPS_KEY, errors=True
    ),
    "checkout-key-on-projections": Bad("GET", "/v1/projections", 403, "forbidden"),
    # --- auth
    "no-authorization-place": post_order(401, "unauthorized", order(), key=None),
    "no-authorization-inventory": Bad(
        "PUT", f"/v1/inventory/{SKU}", 401, "unauthorized", product(), key=None
    ),
    "no-authorization-read": Bad("GET", f"/v1/inventory/{SKU}", 401, "unauthorized", key=None),
    "no-authorization-bad-body": post_order(401, "unauthorized", {"junk": 1}, key=None),
    "unknown-key": post_order(401, "unauthorized", order(), key="ck_not_a_key"),
    "empty-bearer": post_order(
        401, "unauthorized", order(), key=None, headers={"Authorization": "Bearer"}
    ),
    "basic-scheme": post_order(
        401, "unauthorized", order(), key=None, headers={"Authorization": "Basic Y2s6Y2s="}
    ),
    "key-without-scheme": post_order(
        401, "unauthorized", order(), key=None, headers={"Authorization": CHECKOUT_KEY}
    ),
    "checkout-key-on-inventory": Bad(
        "PUT", f"/v1/inventory/{SKU}", 403, "forbidden", product(), key=CHECKOUT_KEY
    ),
    "checkout-key-reads-inventory": Bad(
        "GET", f"/v1/inventory/{SKU}", 403, "forbidden", key=CHECKOUT_KEY
    ),
    "ops-key-on-notes": Bad(
        "POST", f"{ORDER}/notes", 403, "forbidden", {"body": "hi"}, key=OPS_KEY
    ),
    "support-key-places-order": post_order(403, "forbidden", order(), key=SUPPORT_KEY),
    "checkout-key-ships": Bad("POST", f"{ORDER}/ship", 403, "forbidden", ship(), key=CHECKOUT_KEY),
    "checkout-key-refunds": Bad(
        "POST", f"{ORDER}/refunds", 403, "forbidden", refund(), key=CHECKOUT_KEY
    ),
    "ops-key-cancels": Bad("POST", f"{ORDER}/cancel", 403, "forbidden", key=OPS_KEY),
    # --- routing
    "unknown-route": Bad("GET", "/v1/nothing-here", 404, "not-found"),
    "unknown-route-under-order": Bad("POST", f"{ORDER}/explode", 404, "not-found"),
    "unknown-version": Bad("POST", "/v2/orders", 404, "not-found", order()),
    "delete-orders": Bad("DELETE", "/v1/orders", 405, "method-not-allowed"),
    "get-orders-collection": Bad("GET", "/v1/orders", 405, "method-not-allowed"),
    "patch-inventory": Bad(
        "PATCH", f"/v1/inventory/{SKU}", 405, "method-not-allowed", product(), key=OPS_KEY
    ),
    "get-cancel": Bad("GET", f"{ORDER}/cancel", 405, "method-not-allowed"),
    "put-order": Bad("PUT", ORDER, 405, "method-not-allowed", order()),
}


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[ApiServer]:
    """One API process for the whole table; each row gets a freshly seeded database."""
    api = ApiServer(env=worker_env(database_url, {})).start()
    # ApiServer pipes stderr and never reads it: drain it, or a long-lived server blocks.
    if api.process is not None and api.process.stderr is not None:
        stream = api.process.stderr

        def drain() -> None:
            for _line in stream:
                pass

        threading.Thread(target=drain, daemon=True).start()
    try:
        yield api
    finally:
        api.stop()


@dataclass(frozen=True)
class World:
    """What each row starts from: the seeded product and order."""

    url: str
    order_id: str


@pytest.fixture
def world(server: ApiServer, db: psycopg.Connection[Any]) -> World:
    """SKU-OK with 100 on hand and 2 reserved by one placed order (PENDING_PAYMENT)."""
    put_product(server.url, SKU, on_hand=100)
    response = place(server.url, order_body(items=[(SKU, 2)]))
    assert response.status_code == 201, response.text
    return World(server.url, response.json()["order_id"])


WRITE_MODEL = (
    "orders",
    "order_lines",
    "payments",
    "payment_attempts",
    "outbox",
    "idempotency_receipts",
    "refunds",
    "shipments",
    "support_notes",
    "products",
)


def write_model(db: psycopg.Connection[Any]) -> dict[str, Any]:
    """Row counts of the write model, every product's counters and every order's version."""
    state: dict[str, Any] = {
        table: db.execute(f"SELECT count(*) FROM {table}").fetchone() for table in WRITE_MODEL
    }
    state["products"] = db.execute(
        "SELECT sku, name, unit_price, currency, on_hand, reserved, sold, version"
        " FROM products ORDER BY sku"
    ).fetchall()
    state["orders"] = db.execute("SELECT id, version, status FROM orders ORDER BY id").fetchall()
    state["payments"] = db.execute(
        "SELECT order_id, state, authorized, captured, refunded FROM payments ORDER BY order_id"
    ).fetchall()
    return state


def send(world: World, case: Bad) -> httpx.Response:
    """The row's request, exactly as written (raw bytes where the row says so)."""
    path = case.path.format(order=world.order_id, missing=uuid.uuid4())
    headers: dict[str, str] = {}
    if case.key is not None:
        headers["Authorization"] = f"Bearer {case.key}"
    if case.idempotency_key:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    content: bytes | None = case.raw
    if content is None and case.body is not NO_BODY:
        content = json.dumps(case.body).encode()  # ensure_ascii: "\ud800" goes out as an escape
    if content is not None and case.content_type is not None:
        headers["Content-Type"] = case.content_type
    headers.update(case.headers)
    if case.chunked:
        assert content is not None
        chunks = [content[i : i + 8192] for i in range(0, len(content), 8192)] or [b""]
        return httpx.request(
            case.method, world.url + path, content=iter(chunks), headers=headers, timeout=30
        )
    return httpx.request(
        case.method, world.url + path, content=content, headers=headers, timeout=30
    )


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """An RFC 9457 problem of the given status and stable type."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert media_type == PROBLEM_JSON, (media_type, response.text[:500])
    problem = response.json()
    assert isinstance(problem, dict), problem
    for member in ("type", "title", "detail"):
        assert isinstance(problem.get(member), str) and problem[member], (member, problem)
    assert problem.get("status") == status, problem
    assert problem["type"] == TYPE_PREFIX + kind, problem
    return problem


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_input_gets_a_problem_and_changes_nothing(
    world: World, db: psycopg.Connection[Any], case: Bad
) -> None:
    before = write_model(db)

    response = send(world, case)

    problem = assert_problem(response, case.status, case.kind)
    if case.errors:
        errors = problem.get("errors")
        assert isinstance(errors, list) and errors, problem
        assert all(isinstance(e.get("loc"), list) and isinstance(e.get("msg"), str) for e in errors)
    if case.status == 401:
        assert response.headers.get("www-authenticate", "").lower().startswith("bearer"), (
            response.headers
        )
    if case.status == 405:
        assert response.headers.get("allow"), response.headers
    assert write_model(db) == before


def test_the_table_is_seeded_as_the_rows_assume(world: World, db: psycopg.Connection[Any]) -> None:
    """Guards the "changes nothing" half: there is reserved stock and an order to disturb."""
    state = write_model(db)
    assert state["products"][0][:6] == (SKU, f"Product {SKU}", 1000, "EUR", 100, 2)
    assert [row[1:] for row in state["orders"]] == [(1, "PENDING_PAYMENT")]
    assert state["outbox"] == (1,)
    assert state["idempotency_receipts"] == (2,)


# Well-formed requests that a rule of the order refuses, by the state the seeded order is in.
RULE_CASES: dict[str, tuple[str, Bad]] = {
    "capture-more-than-authorized": (
        "authorized",
        Bad(
            "POST",
            f"{ORDER}/capture",
            422,
            "capture-rule",
            {"amount": {"amount": 2001, "currency": "EUR"}},
            key=OPS_KEY,
        ),
    ),
    "capture-in-another-currency": (
        "authorized",
        Bad(
            "POST",
            f"{ORDER}/capture",
            422,
            "capture-rule",
            {"amount": {"amount": 100, "currency": "USD"}},
            key=OPS_KEY,
        ),
    ),
    "authorize-twice": ("authorized", Bad("POST", f"{ORDER}/authorize", 409, "illegal-transition")),
    "ship-before-capture": (
        "authorized",
        Bad("POST", f"{ORDER}/ship", 409, "illegal-transition", ship(), key=OPS_KEY),
    ),
    "refund-before-capture": (
        "authorized",
        Bad("POST", f"{ORDER}/refunds", 422, "refund-rule", refund(), key=SUPPORT_KEY),
    ),
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
    "refund-more-than-captured": (
        "captured",
        Bad(
            "POST",
            f"{ORDER}/refunds",
            422,
            "refund-rule",
            refund({"amount.amount": 2001}),
            key=SUPPORT_KEY,
        ),
    ),
    "refund-in-another-currency": (
        "captured",
        Bad(
            "POST",
            f"{ORDER}/refunds",
            422,
            "refund-rule",
            refund({"amount.currency": "USD"}),
            key=SUPPORT_KEY,
        ),
    ),
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
    world: World, db: psycopg.Connection[Any], state: str, case: Bad
) -> None:
    advance(world, state)
    before = write_model(db)

    response = send(world, case)

    assert_problem(response, case.status, case.kind)
    assert write_model(db) == before


@pytest.mark.parametrize(
    "if_match",
    ["abc", '"-1"', '"99999999999"', 'W/"1"', '"1", "2"'],
    ids=["word", "negative", "ten-digits", "weak", "list"],
)
def test_a_malformed_if_match_is_a_problem_about_the_header_not_about_json(
    world: World, db: psycopg.Connection[Any], if_match: str
) -> None:
    """A bad If-Match is refused (4xx problem, nothing changes) and not blamed on the body.

    The body here is valid JSON (none at all), so the ``malformed-request`` type, whose title is
    "The request body is not valid JSON", misreports the failure to clients that switch on it.
    """
    before = write_model(db)

    response = httpx.post(
        f"{world.url}/v1/orders/{world.order_id}/cancel",
        headers={
            "Authorization": f"Bearer {CHECKOUT_KEY}",
            "Idempotency-Key": str(uuid.uuid4()),
            "If-Match": if_match,
        },
    )

    assert response.status_code in (400, 412, 422), response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == response.status_code
    assert write_model(db) == before
    assert problem["type"] != TYPE_PREFIX + "malformed-request", problem
    assert "JSON" not in problem["title"], problem


def test_the_body_cap_is_exact(world: World, db: psycopg.Connection[Any]) -> None:
    """64 KiB passes the size gate (and is then judged on content); one byte more does not."""
    at_cap = json.dumps({"body": "n"}).replace('"n"', json.dumps("n" * (MAX_BODY - 12)))
    assert len(at_cap.encode()) == MAX_BODY
    note_headers = {
        "Authorization": f"Bearer {SUPPORT_KEY}",
        "Content-Type": "application/json",
    }
    url = f"{world.url}/v1/orders/{world.order_id}/notes"
    before = write_model(db)

    fits = httpx.post(
        url, content=at_cap, headers={**note_headers, "Idempotency-Key": str(uuid.uuid4())}
    )
    over = httpx.post(
        url, content=at_cap + " ", headers={**note_headers, "Idempotency-Key": str(uuid.uuid4())}
    )

    assert_problem(fits, 422, "validation")  # the note is too long, but it was read
    assert_problem(over, 413, "payload-too-large")
    assert write_model(db) == before


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
