"""Unknown routes (404) and methods a route does not allow (405, with Allow)."""

from __future__ import annotations

from tests.helpers.api import OPS_KEY
from tests.helpers.bad_requests import ORDER, SKU, Bad, RowCheck, order, product, rows

CASES: dict[str, Bad] = {
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


@rows(CASES)
def test_an_unknown_route_or_method_gets_a_problem_and_changes_nothing(
    case: Bad, assert_refused: RowCheck
) -> None:
    assert_refused(case)
