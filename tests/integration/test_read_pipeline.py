"""From a committed outbox row to a read: relay and projector processes, freshness, verify."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import redis

from tests.helpers.api import (
    CHECKOUT_KEY,
    SUPPORT_KEY,
    headers,
    order_body,
    place,
    place_one,
    put_product,
    read_order,
)
from tests.helpers.problems import assert_problem
from tests.helpers.processes import ApiServer, Worker, run_verify
from tests.helpers.stores import TEST_REDIS_URL
from tests.helpers.waiting import wait_until_projected


def add_note(base_url: str, order_id: str) -> httpx.Response:
    """POST a support note: the order's next version."""
    return httpx.post(
        f"{base_url}/v1/orders/{order_id}/notes",
        json={"body": "called back"},
        headers=headers(SUPPORT_KEY, str(uuid.uuid4())),
        timeout=30,
    )


def test_a_placed_order_is_readable_at_its_version_with_freshness(
    db: psycopg.Connection[Any], start_pipeline: Callable[..., ApiServer], database_url: str
) -> None:
    api = start_pipeline(read_wait_budget_seconds="15")  # generous: workers may still be starting
    put_product(api.url, "SKU-READ", on_hand=10)
    customer = str(uuid.uuid4())
    placed = place(api.url, order_body(items=[("SKU-READ", 2)], customer_id=customer))
    order_id, version = placed.json()["order_id"], placed.json()["version"]

    read = read_order(api.url, order_id, min_version=version)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["version"] == version and body["status"] == "PENDING_PAYMENT"
    assert body["freshness"]["source_version"] == version
    assert (
        body["freshness"]["last_event_id"]
        == db.execute(
            "SELECT event_id::text FROM outbox WHERE aggregate_id = %s", (order_id,)
        ).fetchone()[0]
    )  # type: ignore[index]
    assert read.headers["ETag"] == f'"{version}"'
    for held in (f'"{version}"', f'"0", W/"{version}"', "*"):
        unchanged = httpx.get(
            f"{api.url}/v1/orders/{order_id}",
            headers=headers(CHECKOUT_KEY, **{"If-None-Match": held}),
        )
        assert unchanged.status_code == 304, (held, unchanged.text)
        assert unchanged.content == b"" and unchanged.headers["ETag"] == f'"{version}"'
    stale = httpx.get(
        f"{api.url}/v1/orders/{order_id}",
        headers=headers(CHECKOUT_KEY, **{"If-None-Match": f'"{version + 1}"'}),
    )
    assert stale.status_code == 200 and stale.json()["version"] == version

    note = add_note(api.url, order_id)
    support = httpx.get(
        f"{api.url}/v1/support/orders/{order_id}",
        params={"min_version": note.json()["version"]},
        headers=headers(SUPPORT_KEY),
        timeout=10,
    )
    assert support.status_code == 200
    assert [n["body"] for n in support.json()["order"]["notes"]] == ["called back"]

    second = place(api.url, order_body(items=[("SKU-READ", 1)], customer_id=customer)).json()
    read_order(api.url, second["order_id"], min_version=1)
    listing = httpx.get(f"{api.url}/v1/customers/{customer}/orders", headers=headers(CHECKOUT_KEY))
    assert [o["order_id"] for o in listing.json()["orders"]] == [second["order_id"], order_id]

    result = run_verify(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "summary" in result.stdout


def test_min_version_the_projection_lacks_is_a_clear_503_never_older_data(
    start_api: Callable[..., ApiServer], start_worker: Callable[..., Worker]
) -> None:
    api = start_api(read_wait_budget_seconds="0.3")
    start_worker("relay")
    projector = start_worker("project", "summary")
    put_product(api.url, "SKU-READ", on_hand=10)
    order_id = place_one(api.url, "SKU-READ")
    wait_until_projected(api.url, order_id, 1, seconds=60)
    projector.kill9()
    noted = add_note(api.url, order_id)
    assert noted.status_code == 201, noted.text

    behind = read_order(api.url, order_id, min_version=2)

    assert behind.status_code == 503
    assert behind.headers["content-type"] == "application/problem+json"
    assert behind.headers["Retry-After"] == "1"
    problem = behind.json()
    assert problem["type"].endswith("/projection-lagging")
    assert (problem["min_version"], problem["projected_version"]) == (2, 1)


def test_min_version_beyond_the_write_model_is_refused_at_once_not_waited_for(
    start_pipeline: Callable[..., ApiServer],
) -> None:
    # A long wait budget: answering "at once" means well before it runs out.
    api = start_pipeline(read_wait_budget_seconds="20")
    put_product(api.url, "SKU-READ", on_hand=10)
    order_id = place_one(api.url, "SKU-READ")
    wait_until_projected(api.url, order_id, 1, seconds=60)

    started = time.monotonic()
    ahead = read_order(api.url, order_id, min_version=2)
    support = httpx.get(
        f"{api.url}/v1/support/orders/{order_id}",
        params={"min_version": 7},
        headers=headers(SUPPORT_KEY),
        timeout=30,
    )
    unknown = read_order(api.url, str(uuid.uuid4()), min_version=1)
    waited = time.monotonic() - started

    problem = assert_problem(ahead, 409, "min-version-ahead")
    assert problem["current_version"] == 1, problem
    assert "version 1" in problem["detail"], problem
    assert assert_problem(support, 409, "min-version-ahead")["current_version"] == 1
    assert_problem(unknown, 404, "not-found")
    assert waited < 10, f"three reads took {waited:.1f} s: one of them waited for the budget"


def test_verify_reports_drift_and_exits_non_zero(
    start_pipeline: Callable[..., ApiServer], database_url: str
) -> None:
    api = start_pipeline()
    put_product(api.url, "SKU-READ", on_hand=10)
    order_id = place_one(api.url, "SKU-READ")
    assert run_verify(database_url).returncode == 0
    redis.Redis.from_url(TEST_REDIS_URL).delete(f"summary:v1:order:{order_id}")
    drifted = run_verify(database_url, wait=5)
    assert drifted.returncode == 1
    assert "summary" in drifted.stdout and " 1 " in drifted.stdout


def test_the_relay_wakes_on_notify_without_waiting_for_its_poll(
    start_pipeline: Callable[..., ApiServer],
) -> None:
    api = start_pipeline(relay={"relay_poll_seconds": "120"})
    put_product(api.url, "SKU-READ", on_hand=10)
    first = place_one(api.url, "SKU-READ")
    wait_until_projected(api.url, first, 1, seconds=20)  # the relay is up and listening now
    started = time.monotonic()
    second = place_one(api.url, "SKU-READ")
    wait_until_projected(api.url, second, 1, seconds=10)
    assert time.monotonic() - started < 10  # far below the 120 s poll: NOTIFY woke the relay
