"""Cursor pagination of a customer's orders and of a projection's dead letters.

Pages follow a stable order and continue strictly after the last item shown, so a client
paging through sees every item once, even while new ones arrive; ``next`` and the
``Link: rel="next"`` header carry the next page, and a cursor the listing did not issue
(garbled, another customer's, another listing's) is a 422 problem.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import psycopg

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, headers, order_body, place, put_product
from tests.helpers.problems import assert_problem
from tests.helpers.processes import ApiServer
from tests.helpers.waiting import wait_until_projected

SKU = "SKU-PAGE"


def place_for(base_url: str, customer_id: str, count: int) -> list[str]:
    """``count`` orders of one customer, eight at a time; their ids."""

    def one(_: int) -> str:
        response = place(base_url, order_body(items=[(SKU, 1)], customer_id=customer_id))
        assert response.status_code == 201, response.text
        return str(response.json()["order_id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(one, range(count)))
    for order_id in ids:
        wait_until_projected(base_url, order_id, 1, seconds=60)
    return ids


def get_page(base_url: str, url: str, key: str) -> httpx.Response:
    response = httpx.get(base_url + url, headers=headers(key), timeout=30)
    assert response.status_code == 200, response.text
    return response


def next_of(response: httpx.Response) -> str | None:
    """The body's ``next``, checked against the Link header."""
    following = response.json()["next"]
    if following is None:
        assert "Link" not in response.headers
    else:
        assert response.headers["Link"] == f'<{following}>; rel="next"'
    return following


def test_250_orders_come_in_three_pages_of_100_each_order_once_while_new_ones_arrive(
    start_pipeline: Callable[..., ApiServer],
) -> None:
    api = start_pipeline()
    put_product(api.url, SKU, on_hand=1_000)
    customer = str(uuid.uuid4())
    existing = place_for(api.url, customer, 250)

    pages: list[list[dict[str, Any]]] = []
    arrived: list[str] = []
    url: str | None = f"/v1/customers/{customer}/orders?limit=100"
    while url is not None:
        response = get_page(api.url, url, CHECKOUT_KEY)
        pages.append(response.json()["orders"])
        url = next_of(response)
        if url is not None:  # newer orders land at the head of the list, before page 1
            arrived += place_for(api.url, customer, 3)

    shown = [order["order_id"] for page in pages for order in page]
    assert [len(page) for page in pages] == [100, 100, 50]
    assert len(set(shown)) == len(shown) == 250
    assert set(shown) == set(existing)
    assert not set(arrived) & set(shown)
    placed = [datetime.fromisoformat(order["placed_at"]) for page in pages for order in page]
    assert placed == sorted(placed, reverse=True)

    first = get_page(api.url, f"/v1/customers/{customer}/orders?limit=100", CHECKOUT_KEY)
    assert first.json()["orders"][0]["order_id"] in arrived  # the newest come first


def test_a_cursor_the_listing_did_not_issue_is_a_422_problem(
    start_pipeline: Callable[..., ApiServer],
) -> None:
    api = start_pipeline()
    put_product(api.url, SKU, on_hand=10)
    customer, other = str(uuid.uuid4()), str(uuid.uuid4())
    place_for(api.url, customer, 2)
    page = get_page(api.url, f"/v1/customers/{customer}/orders?limit=1", CHECKOUT_KEY)
    cursor = page.json()["next"].split("after=", 1)[1]

    for foreign in (
        "garbled!!",
        "eyJub3QiOiJhIGN1cnNvciJ9",  # base64url JSON, but not a cursor
        "WzE3MDAwMDAwMDAwMDAsImFiYyJd",  # a search `after` cursor
    ):
        refused = httpx.get(
            f"{api.url}/v1/customers/{customer}/orders",
            params={"after": foreign},
            headers=headers(CHECKOUT_KEY),
        )
        assert_problem(refused, 422, "validation")
    another_customers = httpx.get(
        f"{api.url}/v1/customers/{other}/orders",
        params={"after": cursor},
        headers=headers(CHECKOUT_KEY),
    )
    assert_problem(another_customers, 422, "validation")
    as_dead_letters = httpx.get(
        f"{api.url}/v1/projections/summary/dead-letters",
        params={"after": cursor},
        headers=headers(OPS_KEY),
    )
    assert_problem(as_dead_letters, 422, "validation")


def park(db: psycopg.Connection[Any], projection: str, count: int) -> list[int]:
    """``count`` dead letters of ``projection``, as the engine parks them; their ids."""
    ids = []
    for n in range(count):
        event_id, order_id = uuid.uuid4(), uuid.uuid4()
        entry = {"stream_id": f"{n + 1}-0", "event_id": str(event_id), "payload": "{}"}
        row = db.execute(
            "INSERT INTO projection_dead_letters (projection, stream_id, event_id, position,"
            " aggregate_id, aggregate_version, event_type, entry, error, attempts)"
            " VALUES (%s, %s, %s, %s, %s, 1, 'OrderPlaced', %s, 'KeyError(''order'')', 5)"
            " RETURNING id",
            (projection, f"{n + 1}-0", event_id, n + 1, order_id, json.dumps(entry)),
        ).fetchone()
        assert row is not None
        ids.append(int(row[0]))
    return ids


def test_dead_letters_page_oldest_first_each_once_with_next_links(
    db: psycopg.Connection[Any], api: ApiServer
) -> None:
    db.execute("DELETE FROM projection_dead_letters")
    parked = park(db, "summary", 7)
    park(db, "search", 2)  # another projection's never show

    pages: list[list[int]] = []
    url: str | None = "/v1/projections/summary/dead-letters?limit=3"
    while url is not None:
        response = get_page(api.url, url, OPS_KEY)
        assert response.json()["projection"] == "summary"
        pages.append([letter["id"] for letter in response.json()["dead_letters"]])
        url = next_of(response)
        if len(pages) == 1:  # parked after the first page: it comes last, once
            parked += park(db, "summary", 1)

    assert pages == [parked[0:3], parked[3:6], parked[6:8]]

    search_page = get_page(api.url, "/v1/projections/search/dead-letters?limit=1", OPS_KEY)
    search_cursor = search_page.json()["next"].split("after=", 1)[1]
    for foreign in ("garbled!!", search_cursor):
        refused = httpx.get(
            f"{api.url}/v1/projections/summary/dead-letters",
            params={"after": foreign},
            headers=headers(OPS_KEY),
        )
        assert_problem(refused, 422, "validation")
