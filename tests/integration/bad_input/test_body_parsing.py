"""Bodies that are not JSON (400) or over the 64 KiB cap (413), on whichever resource: refused
before any route sees them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import psycopg

from tests.helpers.api import OPS_KEY, SUPPORT_KEY
from tests.helpers.bad_requests import (
    MAX_BODY,
    ORDER,
    SKU,
    Bad,
    RowCheck,
    World,
    order_json,
    oversized_order,
    product,
    rows,
    write_model,
)
from tests.helpers.problems import assert_problem


def malformed(raw: bytes, path: str = "/v1/orders", **options: Any) -> Bad:
    """A POST of ``raw`` bytes that are not JSON: 400 before any route sees them."""
    return Bad("POST", path, 400, "malformed-request", raw=raw, **options)


def too_large(method: str, path: str, **options: Any) -> Bad:
    """A request over the body cap: 413, whether its length is declared or streamed."""
    return Bad(method, path, 413, "payload-too-large", **options)


ONE_MB = b" " * 1_000_000 + b"{}"
CASES: dict[str, Bad] = {
    # --- not JSON at all: 400 malformed-request
    "malformed-json-truncated": malformed(b'{"customer": '),
    "malformed-json-trailing-comma": malformed(b'{"items": [],}'),
    "malformed-json-single-quotes": malformed(b"{'a': 1}"),
    "malformed-json-invalid-utf8": malformed(order_json().replace(b"Ada", b"\xff\xfe")),
    "malformed-json-nested-too-deep": malformed(b"[" * 30_000 + b"]" * 30_000),
    "malformed-json-5000-digit-number": malformed(
        b'{"items": [{"sku": "SKU-OK", "quantity": 1' + b"0" * 5000 + b"}]}"
    ),
    "malformed-json-on-command": malformed(b'{"reason": "x"', f"{ORDER}/cancel"),
    "malformed-json-on-inventory": Bad(
        "PUT", f"/v1/inventory/{SKU}", 400, "malformed-request", raw=b"{", key=OPS_KEY
    ),
    # --- too big: 413, declared or streamed
    "body-over-64k-content-length": too_large("POST", "/v1/orders", raw=oversized_order()),
    "body-over-64k-chunked": too_large("POST", "/v1/orders", raw=oversized_order(), chunked=True),
    "body-1mb-content-length": too_large("POST", "/v1/orders", raw=ONE_MB),
    "body-1mb-chunked": too_large("POST", "/v1/orders", raw=ONE_MB, chunked=True),
    "body-over-64k-on-notes": too_large(
        "POST", f"{ORDER}/notes", body={"body": "x" * 70_000}, key=SUPPORT_KEY
    ),
    "body-over-64k-on-inventory": too_large(
        "PUT",
        f"/v1/inventory/{SKU}",
        body=product({"name": "x" * 70_000}),
        key=OPS_KEY,
        chunked=True,
    ),
}


@rows(CASES)
def test_a_body_that_is_not_json_or_too_big_gets_a_problem_and_changes_nothing(
    case: Bad, assert_refused: RowCheck
) -> None:
    assert_refused(case)


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
