"""Bad request headers: a body not declared JSON (415), a missing (400) or malformed (422)
``Idempotency-Key``, a malformed ``If-Match``."""

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
    RowCheck,
    World,
    order,
    post_order,
    product,
    rows,
    write_model,
)
from tests.helpers.problems import PROBLEM_JSON, TYPE_PREFIX


def not_json(content_type: str | None, body: Any = None, **options: Any) -> Bad:
    """A PlaceOrder whose body is not declared JSON: 415 before anything parses it."""
    return post_order(415, "unsupported-media-type", body, content_type=content_type, **options)


def without_idempotency_key(method: str, path: str, **options: Any) -> Bad:
    """A mutating call that sends no ``Idempotency-Key``: 400, as DESIGN §4 says."""
    return Bad(
        method, path, 400, "idempotency-key-missing", idempotency_key=False, errors=True, **options
    )


def bad_idempotency_key(value: str) -> Bad:
    """A PlaceOrder whose ``Idempotency-Key`` is malformed: a validation problem (422)."""
    return post_order(
        422,
        "validation",
        order(),
        idempotency_key=False,
        headers={"Idempotency-Key": value},
        errors=True,
    )


CASES: dict[str, Bad] = {
    # --- not JSON by content type: 415 before anything parses it
    "text-plain": not_json("text/plain", order()),
    "form-urlencoded": not_json("application/x-www-form-urlencoded", raw=b"a=1"),
    "xml": not_json("application/xml", raw=b"<order/>"),
    "no-content-type": not_json(None, order()),
    "text-plain-chunked": not_json("text/plain", order(), chunked=True),
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
    "missing-idempotency-key-place": without_idempotency_key("POST", "/v1/orders", body=order()),
    "missing-idempotency-key-inventory": without_idempotency_key(
        "PUT", f"/v1/inventory/{SKU}", body=product(), key=OPS_KEY
    ),
    "missing-idempotency-key-note": without_idempotency_key(
        "POST", f"{ORDER}/notes", body={"body": "hi"}, key=SUPPORT_KEY
    ),
    "missing-idempotency-key-cancel": without_idempotency_key("POST", f"{ORDER}/cancel"),
    "idempotency-key-with-space": bad_idempotency_key("a b"),
    "idempotency-key-256-chars": bad_idempotency_key("k" * 256),
    "idempotency-key-empty": bad_idempotency_key(""),
}


@rows(CASES)
def test_a_bad_header_gets_a_problem_and_changes_nothing(
    case: Bad, assert_refused: RowCheck
) -> None:
    assert_refused(case)


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
