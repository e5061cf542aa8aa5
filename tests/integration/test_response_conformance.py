"""Every read and admin answer of a live pipeline matches the schema the document gives it.

The fuzz suite validates what it reaches (no relay runs there, so reads mostly answer 404);
here an order goes through its whole life with every projector running (summary and search
as processes, analytics in the API), and each read and admin endpoint's real 200 body and
headers are checked against the live ``/openapi.json``: a field the models name but the
service does not send, or sends with another type, fails here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from openapi_schema_validator import OAS31Validator

from tests.helpers.api import (
    CHECKOUT_KEY,
    OPS_KEY,
    SUPPORT_KEY,
    authorize,
    command,
    headers,
    place_in,
    put_product,
)
from tests.helpers.processes import ApiServer, Worker
from tests.helpers.waiting import wait_until_projected

SKU = "SKU-CONFORM"


def check(document: dict[str, Any], path: str, response: httpx.Response) -> dict[str, Any]:
    """``response`` is documented: its status, its documented headers, its body's schema."""
    method = response.request.method.lower()
    documented = document["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (path, response.status_code, response.text)
    answer = documented[str(response.status_code)]
    media_type = response.headers["content-type"].split(";")[0].strip()
    schema = answer["content"][media_type]["schema"]
    root = {**schema, "components": document["components"]}
    validator = OAS31Validator(root, format_checker=OAS31Validator.FORMAT_CHECKER)
    body = response.json()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == [], (path, errors, json.dumps(body)[:1000])
    return body


def get(url: str, key: str, **params: Any) -> httpx.Response:
    return httpx.get(url, params=params, headers=headers(key), timeout=30)


def poll(url: str, key: str, ready: Callable[[httpx.Response], bool], **params: Any) -> Any:
    deadline = time.monotonic() + 60
    while True:
        response = get(url, key, **params)
        if ready(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


@pytest.fixture
def pipeline(
    dashboards_api: ApiServer, start_worker: Callable[..., Worker], fresh_search_state: None
) -> ApiServer:
    """The dashboards' API (analytics in-process) with summary and search projectors."""
    start_worker("project", "summary")
    start_worker("project", "search")
    return dashboards_api


def test_every_read_and_admin_answer_matches_its_documented_schema(
    db: psycopg.Connection[Any], pipeline: ApiServer
) -> None:
    api = pipeline.url
    document = httpx.get(f"{api}/openapi.json").json()
    put_product(api, SKU, on_hand=20)
    order_id = place_in(api, SKU, "Berlin", "sandbox-card")
    stuck_id = place_in(api, SKU, "Madrid", "sandbox-wallet")  # left pending: stuck after 1 s
    assert authorize(api, order_id).status_code == 200
    for verb, role, body in (
        ("capture", OPS_KEY, None),
        ("ship", OPS_KEY, {"carrier": "DHL", "tracking_number": "JJD0001234"}),
        ("notes", SUPPORT_KEY, {"body": "called back"}),
        ("refunds", SUPPORT_KEY, {"amount": {"amount": 100, "currency": "EUR"}, "reason": "x"}),
    ):
        done = command(api, order_id, verb, str(uuid.uuid4()), role, body)
        assert done.status_code in (200, 201), done.text
    version = done.json()["version"]
    wait_until_projected(api, order_id, version, seconds=60)
    wait_until_projected(api, stuck_id, 1, seconds=60)
    customer = done.json()["customer"]["id"]

    order = check(
        document, "/v1/orders/{order_id}", get(f"{api}/v1/orders/{order_id}", CHECKOUT_KEY)
    )
    assert order["refunds"] and order["notes"] and order["shipment"]
    check(
        document,
        "/v1/customers/{customer_id}/orders",
        get(f"{api}/v1/customers/{customer}/orders", CHECKOUT_KEY),
    )
    check(
        document,
        "/v1/support/orders/{order_id}",
        get(f"{api}/v1/support/orders/{order_id}", SUPPORT_KEY),
    )
    check(
        document,
        "/v1/orders/{order_id}/history",
        get(f"{api}/v1/orders/{order_id}/history", SUPPORT_KEY),
    )
    found = poll(
        f"{api}/v1/support/orders",
        SUPPORT_KEY,
        lambda r: r.status_code == 200 and r.json()["total"] == 2,
        q="ada",
        size=1,
    )
    assert check(document, "/v1/support/orders", found)["next_after"] is not None
    check(document, "/v1/inventory/{sku}", get(f"{api}/v1/inventory/{SKU}", OPS_KEY))

    stuck = poll(
        f"{api}/v1/dashboards/stuck-orders",
        OPS_KEY,
        lambda r: r.status_code == 200 and r.json()["total"] >= 1,
        group_by="status,region,provider",
        drill="true",
    )
    assert check(document, "/v1/dashboards/stuck-orders", stuck)["groups"][0]["orders_oldest_first"]
    for by in ("provider", "none"):
        series = get(f"{api}/v1/dashboards/orders", OPS_KEY, interval="minute", by=by)
        check(document, "/v1/dashboards/orders", series)

    db.execute(
        "INSERT INTO projection_dead_letters (projection, stream_id, event_id, position,"
        " aggregate_id, aggregate_version, event_type, entry, error, attempts)"
        " VALUES ('search', '1-0', %s, 1, %s, 1, 'OrderPlaced', '{}', 'KeyError(''order'')', 5)",
        (uuid.uuid4(), uuid.UUID(order_id)),
    )
    letters = get(f"{api}/v1/projections/search/dead-letters", OPS_KEY)
    assert len(check(document, "/v1/projections/{name}/dead-letters", letters)["dead_letters"]) == 1
    rebuilt = httpx.post(
        f"{api}/v1/projections/summary/rebuild", headers=headers(OPS_KEY, str(uuid.uuid4()))
    )
    check(document, "/v1/projections/{name}/rebuild", rebuilt)
    overview = poll(
        f"{api}/v1/projections",
        OPS_KEY,
        lambda r: (
            r.status_code == 200
            and all(
                p["rebuild"] is None or p["rebuild"]["state"] != "running"
                for p in r.json()["projections"]
            )
        ),
    )
    projections = check(document, "/v1/projections", overview)["projections"]
    assert any(p["rebuild"] is not None for p in projections)
    replayed = httpx.post(
        f"{api}/v1/projections/summary/dead-letters/replay",
        headers=headers(OPS_KEY, str(uuid.uuid4())),
    )
    check(document, "/v1/projections/{name}/dead-letters/replay", replayed)
    check(document, "/healthz", httpx.get(f"{api}/healthz"))
    check(document, "/readyz", httpx.get(f"{api}/readyz"))
