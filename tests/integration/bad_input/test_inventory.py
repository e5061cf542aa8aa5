"""Bad product writes and reads (``PUT``/``GET /v1/inventory/{sku}``)."""

from __future__ import annotations

from tests.helpers.api import OPS_KEY
from tests.helpers.bad_requests import DROP, SKU, Bad, RowCheck, invalid_product, product, rows

CASES: dict[str, Bad] = {
    # --- wrong types
    "price-amount-fraction": invalid_product({"unit_price.amount": 19.98}),
    "price-amount-string": invalid_product({"unit_price.amount": "1998"}),
    "price-currency-EURO": invalid_product({"unit_price.currency": "EURO"}),
    "price-currency-XXX": invalid_product({"unit_price.currency": "XXX"}),
    "price-currency-lowercase": invalid_product({"unit_price.currency": "eur"}),
    "price-as-number": invalid_product({"unit_price": 1998}),
    "on-hand-float": invalid_product({"on_hand": 10.0}),
    # --- missing members
    "missing-price-currency": invalid_product({"unit_price.currency": DROP}),
    "missing-on-hand": invalid_product({"on_hand": DROP}),
    # --- unknown members, top level and nested
    "unknown-in-product": invalid_product({"reserved": 0}),
    "unknown-in-price": invalid_product({"unit_price.tax": 19}),
    # --- huge, negative and zero numbers
    "price-2e63": invalid_product({"unit_price.amount": 2**63}),
    "price-10e30": invalid_product({"unit_price.amount": 10**30}),
    "price-over-max": invalid_product({"unit_price.amount": 10**12 + 1}),
    "price-negative": invalid_product({"unit_price.amount": -1}),
    "on-hand-negative": invalid_product({"on_hand": -1}),
    "on-hand-2e31": invalid_product({"on_hand": 2**31}),
    "on-hand-10e30": invalid_product({"on_hand": 10**30}),
    # --- too long, in the body and in the path
    "product-name-201-chars": invalid_product({"name": "n" * 201}),
    "sku-path-65-chars": Bad(
        "PUT", "/v1/inventory/" + "S" * 65, 422, "validation", product(), key=OPS_KEY, errors=True
    ),
    "sku-path-bad-characters": Bad(
        "PUT", "/v1/inventory/%20x%00", 422, "validation", product(), key=OPS_KEY, errors=True
    ),
    # --- text PostgreSQL cannot store: NUL and lone surrogates
    "nul-in-product-name": invalid_product({"name": "Mug\x00"}),
    "lone-surrogate-in-product-name": invalid_product({"name": "Mug \ud800"}),
    # --- well formed, but the stock rule says no
    "stock-below-reserved": Bad(
        "PUT",
        f"/v1/inventory/{SKU}",
        409,
        "inventory-conflict",
        product({"on_hand": 1}),
        key=OPS_KEY,
    ),
    # --- a SKU nobody stocks
    "unknown-product": Bad("GET", "/v1/inventory/SKU-NOPE", 404, "not-found", key=OPS_KEY),
}


@rows(CASES)
def test_a_bad_product_request_gets_a_problem_and_changes_nothing(
    case: Bad, assert_refused: RowCheck
) -> None:
    assert_refused(case)
