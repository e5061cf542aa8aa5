"""Bodies that are not JSON (400) or over the 64 KiB cap (413), on whichever resource: refused
before any route sees them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import OPS_KEY, SUPPORT_KEY
from tests.helpers.bad_requests import (
    MAX_BODY,
    ORDER,
    SKU,
    Bad,
    World,
    assert_refused_and_nothing_changed,
    order,
    oversized_order,
    post_order,
    product,
    write_model,
)
from tests.helpers.problems import assert_problem

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
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_a_body_that_is_not_json_or_too_big_gets_a_problem_and_changes_nothing(
    world: World, db: psycopg.Connection[Any], case: Bad
) -> None:
    assert_refused_and_nothing_changed(world, db, case)


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
