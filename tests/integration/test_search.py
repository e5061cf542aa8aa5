"""Support search (GET /v1/support/orders) against the real OpenSearch, fed by the real pipeline.

An API, the relay and the search projector run as processes; orders are placed through the
API and searched the way a support agent types on the phone: a few characters of an order id
or an email, half a surname, a product word, a word from a note. Filters, date ranges, sorts,
cursor pagination, highlights and freshness are checked against what was placed, and text
that looks like OpenSearch syntax is searched literally (the query never becomes DSL).

OpenSearch is shared by every session on this machine and the ``db`` fixture does not touch
it: ``fresh_search_state`` deletes every ``orders-support*`` index and the index template
before each test, so the projector installs them anew. ``ORDERS_OPENSEARCH_URL`` points the
tests, and the processes they start, at another node (``scripts/services`` honours
``ORDERS_SERVICES_DIR`` and ``ORDERS_OPENSEARCH_PORT`` for a private one).
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from redis.asyncio import Redis

from orders_cqrs.readmodels.search.index import INDEX_TEMPLATE, TEMPLATE
from orders_cqrs.readmodels.status import read_status
from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, SUPPORT_KEY, headers
from tests.helpers.processes import ApiServer, Worker
from tests.helpers.search import (
    SEARCH,
    drain_stderr,
    found,
    hit_ids,
    opensearch_client,
    reset_search_state,
    search,
    wait_for_support_index,
    wait_searchable,
)
from tests.helpers.stores import TEST_REDIS_URL

# ------------------------------------------------------------------ arranging orders


@dataclass(frozen=True)
class Customer:
    """Who places an order."""

    name: str
    email: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    country: str = "DE"


@dataclass(frozen=True)
class Placement:
    """One order to place, and what to do with it afterwards."""

    customer: Customer
    items: list[tuple[str, int]]
    provider: str
    country: str
    region: str
    city: str
    authorize_token: str | None = None  # tok_approve → AUTHORIZED, tok_decline → declined
    note: str | None = None


@dataclass
class Placed:
    """An order as the write side answered it."""

    order_id: str
    version: int
    status: str
    placed_at: datetime
    placement: Placement


def put_named_product(base_url: str, sku: str, name: str, price: int, on_hand: int = 100) -> None:
    """PUT /v1/inventory/{sku} with a real product name (what agents search for)."""
    response = httpx.put(
        f"{base_url}/v1/inventory/{sku}",
        json={"name": name, "unit_price": {"amount": price, "currency": "EUR"}, "on_hand": on_hand},
        headers=headers(OPS_KEY, str(uuid.uuid4())),
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text


def place_order(client: httpx.Client, placement: Placement) -> Placed:
    """Place the order, then authorize it and add its note if the placement says so."""
    customer = placement.customer
    body = {
        "customer": {
            "id": customer.id,
            "email": customer.email,
            "name": customer.name,
            "country": customer.country,
        },
        "items": [{"sku": sku, "quantity": qty} for sku, qty in placement.items],
        "shipping_address": {
            "country": placement.country,
            "region": placement.region,
            "city": placement.city,
            "postal_code": "10115",
            "line1": "1 Test Street",
        },
        "payment": {"provider": placement.provider, "token": placement.authorize_token or "tok_x"},
    }
    placed = client.post("/v1/orders", json=body, headers=headers(CHECKOUT_KEY, str(uuid.uuid4())))
    assert placed.status_code == 201, placed.text
    snapshot = placed.json()
    order_id = snapshot["order_id"]
    if placement.authorize_token is not None:
        authorized = client.post(
            f"/v1/orders/{order_id}/authorize", headers=headers(CHECKOUT_KEY, str(uuid.uuid4()))
        )
        assert authorized.status_code in (200, 201), authorized.text
        snapshot = authorized.json()
    if placement.note is not None:
        noted = client.post(
            f"/v1/orders/{order_id}/notes",
            json={"body": placement.note},
            headers=headers(SUPPORT_KEY, str(uuid.uuid4())),
        )
        assert noted.status_code == 201, noted.text
        snapshot = noted.json()
    return Placed(
        order_id=order_id,
        version=snapshot["version"],
        status=snapshot["status"],
        placed_at=datetime.fromisoformat(snapshot["placed_at"]),
        placement=placement,
    )


# ------------------------------------------------------------------ the support desk's orders

GRACE = Customer("Grace Hopper", "grace.hopper@example.com")
ADA = Customer("Ada Lovelace", "ada.lovelace@example.org", country="GB")
ALAN = Customer("Alan Turing", "alan.turing@example.net", country="GB")
EDWIN = Customer("Edwin Hopkins", "edwin.hopkins@example.com", country="DE")  # ships to the US
GRACE_M = Customer("Grace Müller", "grace.mueller@example.com")
# A long address (53 characters), as some company and university addresses are.
KATHERINE = Customer(
    "Katherine Johnson", "katherine.johnson@langley-research-center.example.com", country="US"
)

PRODUCTS = {
    "SKU-KETTLE-01": ("Gooseneck kettle", 4900),
    "SKU-LAMP-02": ("Walnut desk lamp", 8900),
    "SKU-TOWEL-03": ("Linen tea towel", 1200),
    "SKU-GRINDER-04": ("Burr coffee grinder", 129_000),
}

# Placed in this order, so placed_at grows down the list.
PLACEMENTS = [
    Placement(
        GRACE,
        [("SKU-KETTLE-01", 1)],
        "sandbox-card",
        "DE",
        "Bavaria",
        "Munich",
        authorize_token="tok_approve",
    ),
    Placement(
        ADA,
        [("SKU-LAMP-02", 1)],
        "sandbox-wallet",
        "GB",
        "England",
        "London",
        note="Parcel arrived waterlogged; customer sent photos",
    ),
    Placement(
        ALAN,
        [("SKU-GRINDER-04", 1), ("SKU-TOWEL-03", 1)],
        "sandbox-card",
        "GB",
        "England",
        "Manchester",
        authorize_token="tok_decline",
    ),
    Placement(GRACE, [("SKU-TOWEL-03", 2)], "sandbox-wallet", "DE", "Bavaria", "Nuremberg"),
    Placement(
        EDWIN,
        [("SKU-LAMP-02", 1), ("SKU-KETTLE-01", 1)],
        "sandbox-card",
        "US",
        "Virginia",
        "Richmond",
        authorize_token="tok_approve",
    ),
    Placement(
        GRACE_M,
        [("SKU-TOWEL-03", 1)],
        "sandbox-card",
        "DE",
        "Berlin",
        "Berlin",
        note="Asked to move the delivery slot to Friday",
    ),
    Placement(KATHERINE, [("SKU-KETTLE-01", 1)], "sandbox-wallet", "US", "Virginia", "Hampton"),
]
HOPPER_1, LOVELACE, TURING, HOPPER_2, HOPKINS, MILLER, JOHNSON = range(len(PLACEMENTS))


@dataclass
class SupportDesk:
    """A running pipeline with the orders above searchable at their final versions."""

    api: ApiServer
    client: httpx.Client
    orders: list[Placed]

    def ids(self, *indexes: int) -> set[str]:
        """Order ids of the given placements."""
        return {self.orders[i].order_id for i in indexes}

    @property
    def all_ids(self) -> set[str]:
        return {placed.order_id for placed in self.orders}


@pytest.fixture
def desk(
    db: psycopg.Connection[Any],
    fresh_search_state: None,
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
) -> Iterator[SupportDesk]:
    """API + relay + search projector, and the support desk's orders, all searchable."""
    api = drain_stderr(start_api())
    start_worker("relay")
    wait_for_support_index(start_worker("project", "search"))
    for sku, (name, price) in PRODUCTS.items():
        put_named_product(api.url, sku, name, price)
    with httpx.Client(base_url=api.url, timeout=30) as client:
        orders = [place_order(client, placement) for placement in PLACEMENTS]
        wait_searchable(client, {o.order_id: o.version for o in orders})
        yield SupportDesk(api, client, orders)


# ------------------------------------------------------------------ tests


def test_the_cluster_accepts_the_support_index_template(fresh_search_state: None) -> None:
    """The template needs the analysis-common module (edge_ngram, asciifolding)."""
    client = opensearch_client()
    try:
        assert client.indices.put_index_template(name=TEMPLATE, body=INDEX_TEMPLATE)["acknowledged"]
        client.indices.create(index="orders-support-v1")
        tokens = client.indices.analyze(
            index="orders-support-v1", body={"analyzer": "word_prefix", "text": "Lovelace"}
        )["tokens"]
        assert [t["token"] for t in tokens][:3] == ["lo", "lov", "love"]
        mapping = client.indices.get_mapping(index="orders-support-v1")["orders-support-v1"]
        assert mapping["mappings"]["dynamic"] == "strict"
    finally:
        client.close()
        reset_search_state()


class AcknowledgedMeanwhile(Redis):
    """A real Redis client; right after XINFO GROUPS answers, the projector acks its batch.

    That is the interleaving a busy projector produces between the two reads of ``group_lag``.
    """

    async def xinfo_groups(self, name: Any) -> Any:
        groups = await super().xinfo_groups(name)
        for group in groups:
            pending = await self.xpending_range(name, group["name"], min="-", max="+", count=1000)
            if pending:
                await self.xack(name, group["name"], *[p["message_id"] for p in pending])
        return groups


def test_search_freshness_survives_the_projector_acknowledging_while_it_is_read(
    db: psycopg.Connection[Any],
) -> None:
    """Every search reads the projection's lag; a batch acknowledged meanwhile is no error."""

    async def scenario() -> dict[str, Any]:
        client = AcknowledgedMeanwhile.from_url(TEST_REDIS_URL, decode_responses=True)
        try:
            stream = "orders.events"
            await client.xadd(
                stream,
                {"event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat()},
            )
            await client.xgroup_create(stream, "search", id="0")
            await client.xreadgroup("search", "projector-1", {stream: ">"}, count=10)
            return await read_status(client, stream, "search")
        finally:
            await client.aclose()

    status = asyncio.run(scenario())
    assert status["lag_events"] in (0, 1) and status["lag_seconds"] >= 0, status


def test_a_search_before_anything_is_indexed_is_empty_or_503_never_a_500(
    db: psycopg.Connection[Any], fresh_search_state: None, start_api: Callable[..., ApiServer]
) -> None:
    """A fresh cluster, or an API that starts before the search projector: no index yet."""
    api = drain_stderr(start_api())
    response = httpx.get(
        f"{api.url}{SEARCH}", params={"q": "grace"}, headers=headers(SUPPORT_KEY), timeout=20
    )
    assert response.status_code in (200, 503), (response.status_code, response.text)
    if response.status_code == 200:
        assert response.json()["total"] == 0 and response.json()["hits"] == []
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/unavailable"), response.text
        assert "Retry-After" in response.headers


def test_an_agent_finds_exactly_the_right_orders_by_what_they_type(desk: SupportDesk) -> None:
    client = desk.client
    turing = desk.orders[TURING].order_id
    cases: list[tuple[str, set[str]]] = [
        (turing[:6], {turing}),  # the first characters of the order id on the email
        (turing[:6].upper(), {turing}),  # read out loud, typed in capitals
        ("grace.ho", desk.ids(HOPPER_1, HOPPER_2)),  # an email prefix, not grace.mueller
        ("katherine.j", desk.ids(JOHNSON)),
        ("Grace.Hopper@Example.com", desk.ids(HOPPER_1, HOPPER_2)),  # the whole email
        ("Hop", desk.ids(HOPPER_1, HOPPER_2, HOPKINS)),  # half a surname: Hopper and Hopkins
        ("Lovel", desk.ids(LOVELACE)),
        ("Muller", desk.ids(MILLER)),  # typed without the umlaut
        ("Müll", desk.ids(MILLER)),
        ("kettle", desk.ids(HOPPER_1, HOPKINS, JOHNSON)),  # a word of a product name
        ("Walnut lamp", desk.ids(LOVELACE, HOPKINS)),
        ("SKU-GRINDER-04", desk.ids(TURING)),  # the SKU itself
        ("waterlogged", desk.ids(LOVELACE)),  # a word of a support note
        ("delivery slot", desk.ids(MILLER)),
        ("Katherine Johnson", desk.ids(JOHNSON)),
        ("nobody-like-this", set()),
    ]
    for q, expected in cases:
        body = found(client, q=q)
        assert set(hit_ids(body)) == expected, (q, body["hits"])
        assert body["total"] == len(expected), (q, body["total"])
        assert len(hit_ids(body)) == len(set(hit_ids(body))), q


def test_a_pasted_full_email_finds_its_orders_however_long_it_is(desk: SupportDesk) -> None:
    """Agents paste the address from the customer's email: it must match, at any length."""
    for customer, expected in [(GRACE, (HOPPER_1, HOPPER_2)), (KATHERINE, (JOHNSON,))]:
        body = found(desk.client, q=customer.email)
        assert set(hit_ids(body)) == desk.ids(*expected), (
            f"{customer.email} ({len(customer.email)} characters) found {body['total']} orders"
        )


def test_hits_are_highlighted_with_mark_and_carry_the_order_facts(desk: SupportDesk) -> None:
    client = desk.client
    for q, field_name in [
        ("kettle", "sku_names"),
        ("grace.ho", "customer_email"),
        ("Lovel", "customer_name"),
        ("waterlogged", "notes"),
        (desk.orders[HOPKINS].order_id[:6], "order_id"),
    ]:
        body = found(client, q=q)
        assert body["hits"], q
        for hit in body["hits"]:
            fragments = hit["highlights"].get(field_name, [])
            assert any("<mark>" in f and "</mark>" in f for f in fragments), (q, hit["highlights"])
    (kettle_hit,) = found(client, q="Gooseneck", country="DE")["hits"]
    hopper = desk.orders[HOPPER_1]
    assert kettle_hit["order_id"] == hopper.order_id
    assert kettle_hit["customer"] == {
        "id": GRACE.id,
        "name": "Grace Hopper",
        "email": "grace.hopper@example.com",
    }
    assert kettle_hit["status"] == "AUTHORIZED" and kettle_hit["payment_state"] == "authorized"
    assert kettle_hit["provider"] == "sandbox-card" and kettle_hit["region"] == "Bavaria"
    assert kettle_hit["total"] == {"amount": 4900, "currency": "EUR"}
    assert kettle_hit["source_version"] == hopper.version
    assert datetime.fromisoformat(kettle_hit["placed_at"]) == hopper.placed_at


def test_the_response_carries_the_projection_freshness(
    desk: SupportDesk, db: psycopg.Connection[Any]
) -> None:
    newest = db.execute("SELECT event_id::text FROM outbox ORDER BY position DESC LIMIT 1")
    last_event_id = newest.fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + 20
    while True:
        freshness = found(desk.client, q="kettle")["freshness"]
        assert set(freshness) >= {"last_event_id", "lag_events", "lag_seconds"}, freshness
        assert isinstance(freshness["lag_events"], int) and freshness["lag_events"] >= 0
        if freshness["lag_events"] == 0 and freshness["last_event_id"] == last_event_id:
            break
        assert time.monotonic() < deadline, f"search never caught up: {freshness}"
        time.sleep(0.1)
    assert freshness["lag_seconds"] == 0


def test_filters_narrow_to_exactly_the_matching_orders(desk: SupportDesk) -> None:
    client = desk.client
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"status": "AUTHORIZED"}, desk.ids(HOPPER_1, HOPKINS)),
        ({"status": "AUTHORIZED,PAYMENT_DECLINED"}, desk.ids(HOPPER_1, HOPKINS, TURING)),
        ({"status": ["PAYMENT_DECLINED", "AUTHORIZED"]}, desk.ids(HOPPER_1, HOPKINS, TURING)),
        ({"payment_state": "declined"}, desk.ids(TURING)),
        ({"payment_state": "pending"}, desk.ids(LOVELACE, HOPPER_2, MILLER, JOHNSON)),
        ({"provider": "sandbox-wallet"}, desk.ids(LOVELACE, HOPPER_2, JOHNSON)),
        ({"region": "Bavaria"}, desk.ids(HOPPER_1, HOPPER_2)),
        ({"region": "Virginia,England"}, desk.ids(HOPKINS, JOHNSON, LOVELACE, TURING)),
        ({"risk": "large_amount"}, desk.ids(TURING)),
        ({"risk": "country_mismatch"}, desk.ids(HOPKINS)),
        ({"country": "US"}, desk.ids(HOPKINS, JOHNSON)),
        ({"country": "DE", "status": "PENDING_PAYMENT"}, desk.ids(HOPPER_2, MILLER)),
        ({"q": "kettle", "provider": "sandbox-card"}, desk.ids(HOPPER_1, HOPKINS)),
        ({"q": "grace", "region": "Berlin"}, desk.ids(MILLER)),
        ({"region": "Atlantis"}, set()),
        ({"status": "authorized"}, set()),  # keyword filters are exact
    ]
    for params, expected in cases:
        body = found(client, **params, size=100)
        assert set(hit_ids(body)) == expected, (params, hit_ids(body))
        assert body["total"] == len(expected), (params, body["total"])


def test_a_date_range_keeps_only_orders_placed_within_it(desk: SupportDesk) -> None:
    client = desk.client
    placed = [o.placed_at for o in desk.orders]
    assert placed == sorted(placed) and len(set(placed)) == len(placed)

    def between(i: int) -> str:
        """A moment strictly between the placements of order i and order i + 1."""
        return (placed[i] + (placed[i + 1] - placed[i]) / 2).isoformat()

    cases: list[tuple[dict[str, str], set[str]]] = [
        ({"from": between(LOVELACE), "to": between(HOPKINS)}, desk.ids(TURING, HOPPER_2, HOPKINS)),
        ({"from": between(HOPKINS)}, desk.ids(MILLER, JOHNSON)),
        ({"to": between(LOVELACE)}, desk.ids(HOPPER_1, LOVELACE)),
        ({"from": between(JOHNSON - 1), "q": "kettle"}, desk.ids(JOHNSON)),
        ({"from": placed[0].isoformat(), "to": placed[-1].isoformat()}, desk.all_ids),
        ({"from": between(MILLER), "to": between(LOVELACE)}, set()),  # an empty range
    ]
    for params, expected in cases:
        body = found(client, **params, size=100)
        assert set(hit_ids(body)) == expected, (params, hit_ids(body))
        assert body["total"] == len(expected), params


def test_newest_and_oldest_sort_by_placement_time(desk: SupportDesk) -> None:
    in_placement_order = [o.order_id for o in desk.orders]
    assert hit_ids(found(desk.client, sort="oldest")) == in_placement_order
    assert hit_ids(found(desk.client, sort="newest")) == in_placement_order[::-1]
    assert hit_ids(found(desk.client)) == in_placement_order[::-1]  # newest is the default
    kettles = [desk.orders[i].order_id for i in (HOPPER_1, HOPKINS, JOHNSON)]
    assert hit_ids(found(desk.client, q="kettle", sort="oldest")) == kettles
    assert hit_ids(found(desk.client, q="kettle", sort="newest")) == kettles[::-1]


def walk_pages(client: httpx.Client, size: int, **params: Any) -> list[dict[str, Any]]:
    """Every page of a search, following the ``after`` cursor until it runs out."""
    pages = [found(client, size=size, **params)]
    while pages[-1]["next_after"] is not None:
        assert len(pages) <= 50, "the cursor never ran out"
        pages.append(found(client, size=size, after=pages[-1]["next_after"], **params))
    return pages


def test_the_after_cursor_walks_every_hit_once_without_gaps(desk: SupportDesk) -> None:
    oldest_first = [o.order_id for o in sorted(desk.orders, key=lambda o: o.placed_at)]
    for sort, size in [("oldest", 2), ("newest", 2), ("newest", 3), ("oldest", 7)]:
        expected = oldest_first if sort == "oldest" else oldest_first[::-1]
        pages = walk_pages(desk.client, size, sort=sort)
        walked = [order_id for page in pages for order_id in hit_ids(page)]
        assert walked == expected, (sort, size)  # same order, no duplicates, no gaps
        assert all(page["total"] == len(expected) for page in pages), (sort, size)
        assert all(len(hit_ids(page)) == size for page in pages[:-1]), (sort, size)
        assert pages[-1]["next_after"] is None and len(hit_ids(pages[-1])) <= size
        # Page numbers agree with the cursor.
        for number in (1, 2):
            by_page = found(desk.client, size=size, sort=sort, page=number)
            assert hit_ids(by_page) == expected[(number - 1) * size : number * size]


def test_the_after_cursor_keeps_the_query_and_filters(desk: SupportDesk) -> None:
    expected = [desk.orders[i].order_id for i in (HOPPER_1, HOPPER_2, HOPKINS)]
    pages = walk_pages(desk.client, 2, q="Hop", sort="oldest")
    assert [oid for page in pages for oid in hit_ids(page)] == expected
    pages = walk_pages(desk.client, 1, country="US", sort="oldest")
    assert [oid for page in pages for oid in hit_ids(page)] == [
        desk.orders[HOPKINS].order_id,
        desk.orders[JOHNSON].order_id,
    ]


def test_the_before_cursor_walks_back_to_exactly_the_pages_walked_forward(
    desk: SupportDesk,
) -> None:
    for sort, size, params in [
        ("newest", 2, {}),
        ("oldest", 3, {}),
        ("total_desc", 2, {}),
        ("updated", 2, {}),
        ("oldest", 1, {"country": "US"}),
    ]:
        # An empty last page (the hits ran out on a page boundary) has nothing to go back from.
        forward = [
            page for page in walk_pages(desk.client, size, sort=sort, **params) if page["hits"]
        ]
        assert forward[0]["prev_before"] is None, (sort, size)  # nothing before the first
        back = [forward[-1]]
        while back[-1]["prev_before"] is not None:
            assert len(back) <= 50, "the before cursor never ran out"
            before = back[-1]["prev_before"]
            back.append(found(desk.client, size=size, sort=sort, before=before, **params))
        # Every page again, in reverse, hit for hit; the first one says nothing precedes it.
        assert [hit_ids(page) for page in back[::-1]] == [hit_ids(p) for p in forward], sort
        # And forward again from a page reached backwards lands where the walk had been.
        if len(back) > 1:
            again = found(desk.client, size=size, sort=sort, after=back[-1]["next_after"], **params)
            assert hit_ids(again) == hit_ids(forward[1]), (sort, size)


def test_a_foreign_before_cursor_or_both_cursors_is_a_422_problem(desk: SupportDesk) -> None:
    issued = found(desk.client, size=2)["next_after"]
    for params in ({"before": "not-a-cursor"}, {"before": issued, "after": issued}):
        response = search(desk.client, size=2, **params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["type"].endswith("/validation")


OPERATOR_QUERIES = [
    '"grace" OR *',
    "*",
    "grace*",
    "name:(x)",
    "customer_email:grace*",
    '\\"',
    '"',
    "AND NOT",
    "NOT kettle",
    "kettle OR lamp",
    '{"match_all":{}}',
    '{"query": {"match_all": {}}}',
    "status:AUTHORIZED",
    "/.*/",
    "grace~2",
    "(((",
    ")",
    "[* TO *]",
    "_exists_:order_id",
    "+grace -hopper",
    "&& || !",
    "<script>alert(1)</script>",
    "%",
    "'; DROP TABLE orders; --",
]


def test_query_syntax_is_searched_literally_never_an_error_nor_everything(
    desk: SupportDesk,
) -> None:
    wrong: list[tuple[str, int, str]] = []
    for q in OPERATOR_QUERIES:
        response = search(desk.client, q=q, size=100)
        if response.status_code != 200:
            wrong.append((q, response.status_code, response.text[:200]))
        elif response.json()["total"] >= len(desk.orders):
            wrong.append((q, 200, f"matched everything: {response.json()['total']} hits"))
    assert wrong == []
    # Literal, so the words inside still count: quotes and operators around a real word.
    assert set(hit_ids(found(desk.client, q='"waterlogged"'))) == desk.ids(LOVELACE)
    assert set(hit_ids(found(desk.client, q="kettle)"))) == desk.ids(HOPPER_1, HOPKINS, JOHNSON)


def test_a_foreign_after_cursor_is_a_422_problem(desk: SupportDesk) -> None:
    def cursor(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    def decoded(after: str) -> Any:
        try:
            return json.loads(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)))
        except ValueError:
            return None

    issued = found(desk.client, size=2)["next_after"]
    assert issued is not None
    foreign = [
        "not-a-cursor",
        "!!!",
        cursor({"search_after": [1]}),
        cursor([1, 2, 3]),
        cursor(["yesterday", "x"]),
        cursor([{"match_all": {}}, "x"]),
        cursor([[1], "x"]),
        cursor([None, None]),
        issued[:-4] + "AAAA",
    ]
    wrong: list[tuple[str, Any, int, str]] = []
    for after in foreign:
        # A fresh connection each: after an unhandled error the server may drop the old one.
        response = httpx.get(
            f"{desk.api.url}{SEARCH}",
            params={"after": after, "size": 2},
            headers=headers(SUPPORT_KEY),
            timeout=30,
        )
        is_problem = response.headers["content-type"] == "application/problem+json"
        if not (response.status_code == 422 and is_problem) or not response.json()["type"].endswith(
            "/validation"
        ):
            wrong.append((after, decoded(after), response.status_code, response.text[:120]))
    assert not wrong, "cursors this service never issued must be a 422 validation problem:\n" + (
        "\n".join(f"  {raw} = {value!r} -> {status} {text}" for raw, value, status, text in wrong)
    )
    assert search(desk.client, after=issued, size=2).status_code == 200


def test_out_of_range_parameters_are_422_problems_never_500(
    db: psycopg.Connection[Any], fresh_search_state: None, start_api: Callable[..., ApiServer]
) -> None:
    api = drain_stderr(start_api())
    cases: list[dict[str, Any]] = [
        {"size": 0},
        {"size": 101},
        {"page": 0},
        {"page": 501},
        {"page": 101, "size": 100},  # beyond the 10 000-hit window: the cursor is for that
        {"sort": "relevance"},
        {"from": "yesterday"},
        {"to": "2026-13-45"},
        {"from": "1900-01-01T00:00:00Z"},
        {"to": "9999-12-31T23:59:59Z"},
        {"q": "x" * 201},
        {"status": "S" * 101},
        {"after": "x" * 501},
    ]
    wrong = []
    for params in cases:
        response = httpx.get(
            f"{api.url}{SEARCH}", params=params, headers=headers(SUPPORT_KEY), timeout=20
        )
        problem = response.headers["content-type"] == "application/problem+json"
        if response.status_code != 422 or not problem:
            wrong.append((params, response.status_code, response.text[:150]))
    assert wrong == []


def test_search_requires_the_support_role(desk: SupportDesk) -> None:
    for key, status in [(CHECKOUT_KEY, 403), (OPS_KEY, 403), ("sk_not_a_key", 401)]:
        response = desk.client.get(SEARCH, params={"q": "grace"}, headers=headers(key))
        assert response.status_code == status, (key, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        kind = "forbidden" if status == 403 else "unauthorized"
        assert response.json()["type"].endswith(f"/{kind}")
        assert "grace" not in response.text.lower()
    anonymous = desk.client.get(SEARCH, params={"q": "grace"})
    assert anonymous.status_code == 401


def test_typical_support_queries_answer_quickly(desk: SupportDesk) -> None:
    queries = ["grace.ho", "Hop", "kettle", desk.orders[TURING].order_id[:6], "waterlogged"]
    for q in queries:  # warm-up: connection pools, OpenSearch caches
        found(desk.client, q=q)
    latencies: list[float] = []
    for round_number in range(40):
        for q in queries:
            started = time.perf_counter()
            filters = {"status": "AUTHORIZED"} if round_number % 2 else {}
            response = search(desk.client, q=q, **filters)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200
    quantiles = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies), quantiles[98]
    print(
        f"\nsupport search over HTTP ({len(latencies)} queries):"
        f" p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )
    assert p50 < 0.5, f"p50 {p50 * 1000:.0f} ms"
