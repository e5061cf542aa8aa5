"""Logs while a store is down: every line the API writes is one JSON object (uvicorn's and the
drivers' included), one line per request names its route, caller, trace and order, and the
store's password shows up in neither a log line nor an error body.

Redis here is the real one, stopped and started again by ``scripts/services``; the API reaches
it with a password in its URL (Redis accepts any password for a user without one, so the
URL works while Redis is up)."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import CHECKOUT_KEY, headers, order_body, put_product
from tests.helpers.outage import StoreOutage
from tests.helpers.processes import ApiServer
from tests.helpers.stores import TEST_REDIS_URL

OUTAGE_ATTEMPTS = 5
SKU = "SKU-LOGS"


def _log_lines(api: ApiServer) -> list[dict[str, Any]]:
    """Every line of the API's stderr, each of which must be a JSON object."""
    api.log.flush()
    api.log.seek(0)
    text = api.log.read().decode(errors="replace")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _requests(lines: list[dict[str, Any]], route: str, status: int) -> list[dict[str, Any]]:
    return [
        line
        for line in lines
        if line.get("event") == "request" and line["route"] == route and line["status"] == status
    ]


def test_a_redis_outage_is_logged_per_request_without_the_stores_password(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    redis_outage: StoreOutage,
) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    redis_url = TEST_REDIS_URL.replace("redis://", f"redis://default:{password}@", 1)
    api = start_api(redis_url=redis_url, log_format="json")
    put_product(api.url, SKU, on_hand=5)
    trace_id = secrets.token_hex(16)
    traced = headers(
        CHECKOUT_KEY, str(uuid.uuid4()), traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-01"
    )
    placed = httpx.post(f"{api.url}/v1/orders", json=order_body(items=[(SKU, 1)]), headers=traced)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]

    for _ in redis_outage.windows(OUTAGE_ATTEMPTS):
        read = httpx.get(f"{api.url}/v1/orders/{order_id}", headers=headers(CHECKOUT_KEY))
        assert read.status_code == 503, read.text
        assert password not in read.text
    redis_outage.start()
    api.stop()

    lines = _log_lines(api)  # json.loads fails on any line that is not JSON
    everything = json.dumps(lines)
    assert password not in everything
    assert CHECKOUT_KEY not in everything  # the client is named by its id, never its key
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines)

    (checkout,) = _requests(lines, "/v1/orders", 201)
    assert checkout["trace_id"] == trace_id  # the caller's trace, as the outbox row has it
    assert checkout["order_id"] == order_id  # from the Location of the order it created
    assert checkout["client_id"].startswith("checkout:")
    assert checkout["method"] == "POST" and checkout["duration_ms"] > 0
    stored = db.execute(
        "SELECT headers->>'traceparent' FROM outbox WHERE aggregate_id = %s", (order_id,)
    ).fetchone()
    assert stored is not None and stored[0].split("-")[1] == trace_id

    failed = _requests(lines, "/v1/orders/{order_id}", 503)
    assert failed, "the failed reads were not logged"
    assert {line["order_id"] for line in failed} == {order_id}
    assert all(line["client_id"] == checkout["client_id"] for line in failed)
    assert all(len(line["trace_id"]) == 32 and line["duration_ms"] > 0 for line in failed)
