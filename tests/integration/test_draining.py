"""SIGTERM drains the API: readiness fails at once, while the requests in flight (and those a
load balancer still sends during the drain) are answered; only then does the process stop."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import authorize, order_body, place, put_product
from tests.helpers.processes import ApiServer

SKU = "SKU-DRAIN"

DRAIN_SECONDS = 2.0
SLOW_SECONDS = 4.0  # the sandbox's tok_slow: longer than the drain, so it outlives it


def _readiness(api: ApiServer) -> httpx.Response | None:
    try:
        return httpx.get(f"{api.url}/readyz", timeout=2)
    except httpx.HTTPError:
        return None  # nobody listening (yet, or any more)


def test_readiness_fails_while_draining_and_the_request_in_flight_still_succeeds(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api(
        shutdown_drain_seconds=str(DRAIN_SECONDS),
        payment_slow_seconds=str(SLOW_SECONDS),
        payment_timeout_seconds="15",
    )
    put_product(api.url, SKU, on_hand=5)
    placed = place(api.url, order_body(items=[(SKU, 1)], token="tok_slow"))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    answer: dict[str, httpx.Response] = {}
    slow = threading.Thread(target=lambda: answer.update(slow=authorize(api.url, order_id)))
    slow.start()
    time.sleep(0.5)  # the authorization is with the provider
    assert api.process is not None
    api.process.send_signal(signal.SIGTERM)

    deadline = time.monotonic() + DRAIN_SECONDS
    readiness = _readiness(api)
    while readiness is not None and readiness.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
        readiness = _readiness(api)
    assert readiness is not None, "the API stopped listening instead of draining"
    assert readiness.status_code == 503, readiness.text
    assert readiness.headers["content-type"] == "application/problem+json"
    assert readiness.json()["type"].endswith("/unavailable")
    assert "draining" in readiness.json()["detail"]
    # Still alive and still serving what is sent meanwhile.
    assert httpx.get(f"{api.url}/healthz", timeout=2).status_code == 200

    slow.join(timeout=30)
    assert answer["slow"].status_code == 200, answer["slow"].text
    assert answer["slow"].json()["status"] == "AUTHORIZED"
    api.process.wait(timeout=20)  # and then it stops
    assert _readiness(api) is None
