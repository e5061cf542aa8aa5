"""Many real orders fast: the service's own executor in the test process, without HTTP.

For tests whose subject is what happens *after* thousands of orders exist (a rebuild, the
stream's retention), not the HTTP path: every order still goes through the real command
path (claim, reservation, outbox event, audit, receipt, one commit), only the request
parsing is skipped, so 5,000 orders take seconds on a small machine.
"""

from __future__ import annotations

import asyncio
import uuid

from orders_cqrs.bootstrap import open_container
from orders_cqrs.config import Settings
from orders_cqrs.domain import commands
from orders_cqrs.domain.values import Address, Customer
from orders_cqrs.write.context import CommandContext
from orders_cqrs.write.executor import Executor
from tests.helpers.stores import OPENSEARCH_URL, TEST_REDIS_URL

SKUS = tuple(f"SKU-SEED-{n}" for n in range(8))  # spread the stock rows' locks
STOCK = 1_000_000  # per SKU, set on every call: no seeding runs out
SHIPPING = Address("DE", "Berlin", "Berlin", "10115", "Invalidenstr. 1")


def _ctx(command: str) -> CommandContext:
    key = str(uuid.uuid4())
    return CommandContext(
        command=command, actor="seed", client_id="seed", idempotency_key=key, fingerprint=key
    )


async def _seed(database_url: str, orders: int, concurrency: int) -> list[str]:
    settings = Settings(
        environment="test",
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        opensearch_url=OPENSEARCH_URL,
        clickhouse_url="",
        db_pool_size=concurrency,
    )
    async with open_container(settings, commands=True) as container:
        executor = container.executor
        for sku in SKUS:
            put = commands.PutProduct(sku, f"Product {sku}", 1000, "EUR", STOCK)
            await executor.execute(put, _ctx("put_product"))
        order_ids: list[str] = []
        queue = iter(range(orders))

        async def place_some() -> None:
            for n in queue:
                order_ids.append(await _place(executor, n))

        await asyncio.gather(*(place_some() for _ in range(concurrency)))
        return order_ids


async def _place(executor: Executor, n: int) -> str:
    customer = Customer(uuid.uuid4(), f"seed.{n}@example.com", f"Seed Customer {n}", "DE")
    command = commands.PlaceOrder(
        customer=customer,
        items=((SKUS[n % len(SKUS)], 1),),
        shipping=SHIPPING,
        provider="sandbox-card",
        token="tok_approve",
    )
    outcome = await executor.execute(command, _ctx("place_order"))
    assert outcome.status_code == 201, outcome.body[:300]
    return str(uuid.UUID(outcome.headers["Location"].rsplit("/", 1)[1]))


def seed_orders(database_url: str, orders: int, *, concurrency: int = 8) -> list[str]:
    """Place ``orders`` orders (one line each) through the executor; their ids."""
    return asyncio.run(_seed(database_url, orders, concurrency))
