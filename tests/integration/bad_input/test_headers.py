"""Bad request headers: a body not declared JSON (415), a missing or malformed
``Idempotency-Key`` (422), a malformed ``If-Match``."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, SUPPORT_KEY
from tests.helpers.bad_requests import (
    ORDER,
    SKU,
    Bad,
    World,
    assert_refused_and_nothing_changed,
    order,
    post_order,
    product,
    write_model,
)
from tests.helpers.problems import PROBLEM_JSON, TYPE_PREFIX

CASES: dict[str, Bad] = {
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
    # --- Idempotency-Key: every mutating call needs one, and a well-formed one
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
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_a_bad_header_gets_a_problem_and_changes_nothing(
    world: World, db: psycopg.Connection[Any], case: Bad
) -> None:
    assert_refused_and_nothing_changed(world, db, case)


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
