"""Support-search latency over N indexed orders, through the real index template and query.

``python -m orders_cqrs.tooling.bench.search_latency --orders 10000 --queries 500``
indexes synthetic order snapshots into a scratch index (same template, analyzers and
projection code as production), then times the kinds of queries support agents type and
prints p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import AsyncOpenSearch

from orders_cqrs.config import get_settings
from orders_cqrs.readmodels.search.projection import SearchProjection, ensure_index
from orders_cqrs.readmodels.search.reader import SearchRequest, search_orders
from orders_cqrs.relay.wire import StreamEvent

INDEX = "orders-support-vbench"
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson"]
PRODUCTS = ["Gooseneck kettle", "Walnut desk lamp", "Enamel camping mug", "Insulated bottle"]
REGIONS = ["Berlin", "Bavaria", "Hamburg", "Île-de-France", "Lombardy", "Catalonia"]


def snapshot(rng: random.Random, n: int) -> dict[str, Any]:
    """A plausible order snapshot."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    placed = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=n)
    product = rng.choice(PRODUCTS)
    return {
        "order_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "version": 1,
        "status": rng.choice(["PENDING_PAYMENT", "AUTHORIZED", "CAPTURED", "SHIPPED"]),
        "customer": {
            "id": str(uuid.UUID(int=rng.getrandbits(128))),
            "email": f"{first}.{last}{n}@example.com".lower(),
            "name": f"{first} {last}",
            "country": "DE",
        },
        "items": [{"sku": f"SKU-{n % 97}", "name": product, "quantity": 1, "unit_price": 1000}],
        "shipping_address": {
            "country": "DE",
            "region": rng.choice(REGIONS),
            "city": "Berlin",
            "postal_code": "10115",
            "line1": "Street 1",
        },
        "currency": "EUR",
        "total": {"amount": 1000, "currency": "EUR"},
        "payment": {
            "provider": rng.choice(["sandbox-card", "sandbox-wallet"]),
            "state": "pending",
            "authorized": 0,
            "captured": 0,
            "refunded": 0,
        },
        "risk_flags": [],
        "shipment": None,
        "refunds": [],
        "notes": [{"body": f"customer called about {product.split()[-1]}"}] if n % 10 == 0 else [],
        "placed_at": placed.isoformat(),
        "updated_at": placed.isoformat(),
    }


async def main(orders: int, queries: int, seed: int) -> None:
    """Index, then time queries; prints the figures."""
    client = AsyncOpenSearch(hosts=[get_settings().opensearch_url], timeout=60)
    rng = random.Random(seed)
    try:
        await ensure_index(client)
        await client.indices.delete(index=INDEX, ignore=404)
        await client.indices.create(index=INDEX)
        projection = SearchProjection(client, index=INDEX)
        docs = [snapshot(rng, n) for n in range(orders)]
        started = time.perf_counter()
        for start in range(0, orders, 500):
            batch = docs[start : start + 500]
            await projection.apply(
                [
                    StreamEvent(
                        uuid.uuid4(),
                        i,
                        uuid.UUID(d["order_id"]),
                        1,
                        "OrderPlaced",
                        1,
                        datetime.now(UTC),
                        {},
                        {"order": d},
                        "",
                    )
                    for i, d in enumerate(batch, start)
                ]
            )
        await client.indices.refresh(index=INDEX)
        indexed = time.perf_counter() - started
        kinds: dict[str, Callable[[dict[str, Any]], str]] = {
            "order-id prefix": lambda d: d["order_id"][:6],
            "email prefix": lambda d: d["customer"]["email"][:8],
            "half a surname": lambda d: d["customer"]["name"].split()[1][:4],
            "sku name word": lambda d: d["items"][0]["name"].split()[-1],
        }
        for kind, make in kinds.items():
            timings = []
            for _ in range(queries):
                request = SearchRequest(q=make(rng.choice(docs)), size=20)
                t0 = time.perf_counter()
                await search_orders(client, request, index=INDEX)
                timings.append((time.perf_counter() - t0) * 1000)
            timings.sort()
            p50 = statistics.median(timings)
            p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
            print(f"{kind:16} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   ({queries} queries)")
        print(f"indexed {orders} orders in {indexed:.1f} s ({orders / indexed:.0f} docs/s)")
    finally:
        await client.indices.delete(index=INDEX, ignore=404)
        await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.queries, args.seed))
