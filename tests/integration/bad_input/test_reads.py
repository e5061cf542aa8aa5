"""Bad order and customer reads (GET /v1/orders/{id}, GET /v1/customers/{id}/orders).

A customer-orders cursor is opaque: one this listing did not issue is a 422, never a page of
something else."""

from __future__ import annotations

import base64
import uuid

from tests.helpers.bad_requests import ORDER, Bad, RowCheck, rows

CASES: dict[str, Bad] = {
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
    "customer-orders-cursor-garbled": Bad(
        "GET", f"/v1/customers/{uuid.UUID(int=1)}/orders?after=garbled!!", 422, "validation"
    ),
    "customer-orders-cursor-not-ours": Bad(
        "GET",
        # base64url of {"l":"customer-orders","s":"x","k":[1,"y"]}: another scope
        f"/v1/customers/{uuid.UUID(int=1)}/orders?after="
        + base64.urlsafe_b64encode(b'{"l":"customer-orders","s":"x","k":[1,"y"]}').decode(),
        422,
        "validation",
    ),
    "customer-orders-cursor-too-long": Bad(
        "GET",
        f"/v1/customers/{uuid.UUID(int=1)}/orders?after={'A' * 501}",
        422,
        "validation",
        errors=True,
    ),
}


@rows(CASES)
def test_a_bad_read_gets_a_problem_and_changes_nothing(case: Bad, assert_refused: RowCheck) -> None:
    assert_refused(case)
