"""Requests without a valid key (401) or with the key of a role that may not (403), on every
resource: refused before the body is even looked at, and nothing changes."""

from __future__ import annotations

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, SUPPORT_KEY
from tests.helpers.bad_requests import (
    ORDER,
    SKU,
    Bad,
    RowCheck,
    order,
    post_order,
    product,
    refund,
    rows,
    ship,
)

CASES: dict[str, Bad] = {
    # --- no key, or not one of ours: 401, with a Bearer challenge
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
    # --- a key whose role may not: 403
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
    "checkout-key-on-projections": Bad("GET", "/v1/projections", 403, "forbidden"),
}


@rows(CASES)
def test_a_request_without_the_right_key_gets_a_problem_and_changes_nothing(
    case: Bad, assert_refused: RowCheck
) -> None:
    assert_refused(case)
