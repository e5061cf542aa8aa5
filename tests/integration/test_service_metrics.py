"""The API's own metrics, scraped from a real API process: request durations labelled by route
template (never by raw path), provider call durations for every result, rejected commands
timed like accepted ones, the SQLAlchemy pool and the build, with bounded labels."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import (
    CHECKOUT_KEY,
    OPS_KEY,
    authorize,
    command,
    headers,
    order_body,
    place,
    place_one,
    put_product,
)
from tests.helpers.metrics import Labels, scrape
from tests.helpers.processes import ApiServer

SKU = "SKU-METRICS"
HTTP = "orders_http_request_duration_seconds"
PAYMENT = "orders_payment_provider_call_duration_seconds"
COMMAND = "orders_command_duration_seconds"


def _series(api: ApiServer, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples called ``name`` by their sorted labels."""
    return {
        tuple(sorted(labels.items())): value
        for sample, labels, value in scrape(api.port)
        if sample == name
    }


def _value(api: ApiServer, name: str, **labels: str) -> float | None:
    return _series(api, name).get(tuple(sorted(labels.items())))


def _label_values(api: ApiServer, name: str, label: str) -> set[str]:
    return {dict(key)[label] for key in _series(api, name)}


def test_request_durations_name_the_route_template_never_the_raw_path(
    api: ApiServer,
) -> None:
    for _ in range(2):
        missing = httpx.get(f"{api.url}/v1/orders/{uuid.uuid4()}", headers=headers(CHECKOUT_KEY))
        assert missing.status_code == 404, missing.text
    unknown = httpx.get(f"{api.url}/no/such/{uuid.uuid4()}")
    assert unknown.status_code == 404
    odd = httpx.request("PURGE", f"{api.url}/v1/orders/{uuid.uuid4()}")
    assert odd.status_code == 405

    count = HTTP + "_count"
    by_template: Labels = {"route": "/v1/orders/{order_id}", "method": "GET", "status": "4xx"}
    assert _value(api, count, **by_template) == 2  # both ids, one series
    assert _value(api, count, route="unmatched", method="GET", status="4xx") == 1
    # An invented method is "other": clients cannot invent series either.
    assert _value(api, count, route="/v1/orders/{order_id}", method="other", status="4xx") == 1
    # No raw path became a label: every route is a template of the app's.
    assert _label_values(api, count, "route") <= {
        "unmatched",
        "/readyz",
        "/metrics",
        "/v1/orders/{order_id}",
    }
    # The counter that was already there keeps the same labels.
    assert _value(api, "orders_http_requests_total", **by_template) == _value(
        api, count, **by_template
    )


def test_declined_and_timed_out_authorizations_are_timed_by_provider_and_result(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api(payment_timeout_seconds="1")
    put_product(api.url, SKU, on_hand=10)
    declined = authorize(api.url, _place_with(api, "tok_decline"))
    assert declined.status_code == 200 and declined.json()["status"] == "PAYMENT_DECLINED"
    timed_out = authorize(api.url, _place_with(api, "tok_timeout"))
    assert timed_out.status_code == 504, timed_out.text

    card = {"provider": "sandbox-card", "operation": "authorize"}
    assert _value(api, PAYMENT + "_count", **card, result="declined") == 1
    assert _value(api, PAYMENT + "_count", **card, result="timeout") == 1
    # A timeout is timed until the caller gave up: the whole 1 s budget.
    waited = _value(api, PAYMENT + "_sum", **card, result="timeout")
    assert waited is not None and 1.0 <= waited < 3.0
    # The same results as the call counter's.
    calls = "orders_payment_provider_calls_total"
    for result in ("declined", "timeout"):
        assert _value(api, calls, provider="sandbox-card", result=result) == 1


def test_a_refused_command_is_timed_with_outcome_rejected(api: ApiServer) -> None:
    put_product(api.url, SKU, on_hand=5)
    order_id = place_one(api.url, SKU)
    # Capturing an order nobody authorized is an illegal transition: refused and audited.
    refused = command(api.url, order_id, "capture", str(uuid.uuid4()), OPS_KEY)
    assert refused.status_code == 409, refused.text

    count = COMMAND + "_count"
    assert _value(api, count, command="capture_payment", outcome="rejected") == 1
    assert _value(api, count, command="capture_payment", outcome="accepted") is None
    assert _value(api, count, command="place_order", outcome="accepted") == 1
    assert _label_values(api, count, "outcome") <= {"accepted", "rejected"}


def test_the_api_declares_its_build_and_its_database_pool(api: ApiServer) -> None:
    put_product(api.url, SKU, on_hand=1)  # a command, and a read of the write model:
    assert httpx.get(f"{api.url}/v1/inventory/{SKU}", headers=headers(OPS_KEY)).status_code == 200

    builds = [labels for name, labels, value in scrape(api.port) if name == "orders_build_info"]
    assert len(builds) == 1 and builds[0]["process"] == "api"
    assert builds[0]["version"] and builds[0]["python"].count(".") == 2
    pool = _series(api, "orders_db_pool_connections")
    assert {dict(key)["state"] for key in pool} == {"in_use", "idle"}
    assert all(value >= 0 for value in pool.values())
    assert _value(api, "orders_db_pool_connections", state="idle") >= 1  # readyz's came back
    waits = _value(api, "orders_db_pool_checkout_wait_seconds_count")
    assert waits is not None and waits >= 1


def _place_with(api: ApiServer, token: str) -> str:
    placed = place(api.url, order_body(items=[(SKU, 1)], token=token))
    assert placed.status_code == 201, placed.text
    return str(placed.json()["order_id"])
