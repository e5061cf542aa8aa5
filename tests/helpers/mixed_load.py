"""A mixed command load for the chaos suites: thousands of orders, each through a story."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, SUPPORT_KEY, headers, order_body, put_product

SKUS = tuple(f"SKU-CHAOS-{n}" for n in range(8))

# One story per order, by its index modulo 16: (payment token, commands after placing).
# Together they cover every event the summary follows (placed, authorized, declined,
# captured, shipped, cancelled while pending and while authorized, support notes); most
# orders stop after placing, like most carts, which keeps the load at about 1.6 requests per
# order so that thousands of orders fit in a test's time budget on a small machine.
STORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tok_approve", ("authorize", "capture", "ship")),
    ("tok_decline", ("authorize",)),
    ("tok_approve", ("authorize", "cancel")),
    ("tok_approve", ("cancel",)),
    ("tok_approve", ("notes",)),
    ("tok_approve", ("authorize",)),
    ("tok_decline", ("authorize",)),
    *((("tok_approve", ()),) * 7),
    *((("tok_decline", ()),) * 2),
)
EXPECTED_STATUS = {"place": 201, "notes": 201}  # every other command answers 200
ROLE_KEYS = {
    "authorize": CHECKOUT_KEY,
    "cancel": CHECKOUT_KEY,
    "capture": OPS_KEY,
    "ship": OPS_KEY,
    "notes": SUPPORT_KEY,
}


def stock_products(base_url: str) -> None:
    """Every chaos SKU, with stock no load can exhaust."""
    for sku in SKUS:
        put_product(base_url, sku, on_hand=1_000_000, price=700)


@dataclass
class LoadReport:
    """What the load did: answers by command and status, and anything unexpected."""

    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def placed(self) -> int:
        """Orders the API acknowledged with 201."""
        return self.answers[("place", 201)]

    @property
    def commands(self) -> int:
        """Every request answered, whatever the answer."""
        return sum(self.answers.values())


def _command_body(verb: str, index: int) -> dict[str, Any] | None:
    if verb == "ship":
        return {"carrier": "DHL", "tracking_number": f"JD{index:08d}"}
    if verb == "notes":
        return {"body": f"chaos note for order #{index}"}
    if verb == "cancel":
        return {"reason": "chaos_test"}
    return None


async def _tell_story(client: httpx.AsyncClient, index: int, report: LoadReport) -> None:
    token, verbs = STORIES[index % len(STORIES)]
    rng = random.Random(index)
    items = sorted(rng.sample(SKUS, rng.randint(1, 2)))
    body = order_body(items=[(sku, rng.randint(1, 3)) for sku in items], token=token)
    placed = await client.post(
        "/v1/orders", json=body, headers=headers(CHECKOUT_KEY, str(uuid.uuid4()))
    )
    report.answers["place", placed.status_code] += 1
    if placed.status_code != EXPECTED_STATUS["place"]:
        report.unexpected.append(f"order #{index} place: {placed.status_code} {placed.text[:300]}")
        return
    order_id = str(placed.json()["order_id"])
    for verb in verbs:
        answer = await client.post(
            f"/v1/orders/{order_id}/{verb}",
            json=_command_body(verb, index),
            headers=headers(ROLE_KEYS[verb], str(uuid.uuid4())),
        )
        report.answers[verb, answer.status_code] += 1
        if answer.status_code != EXPECTED_STATUS.get(verb, 200):
            report.unexpected.append(
                f"order #{index} {verb}: {answer.status_code} {answer.text[:300]}"
            )
            return


async def _mixed_load(
    base_url: str, orders: int, clients: int, until: Callable[[], bool]
) -> LoadReport:
    report = LoadReport()
    indexes = itertools.count()
    started = time.monotonic()

    async def client_loop(client: httpx.AsyncClient) -> None:
        for index in indexes:  # the counter is shared: each index is taken once
            if index >= orders and until():
                return
            try:
                await _tell_story(client, index, report)
            except httpx.HTTPError as error:
                report.unexpected.append(f"order #{index}: {error!r}")

    # One client (connection pool) per simulated frontend, like separate checkout servers.
    pools = [httpx.AsyncClient(base_url=base_url, timeout=60) for _ in range(clients)]
    try:
        await asyncio.gather(*(client_loop(pool) for pool in pools))
    finally:
        for pool in pools:
            await pool.aclose()
    report.seconds = time.monotonic() - started
    return report


def run_mixed_load(
    base_url: str, orders: int, clients: int = 8, until: Callable[[], bool] = lambda: True
) -> LoadReport:
    """Drive at least ``orders`` orders through their stories from concurrent clients.

    Past ``orders`` the load goes on until ``until()`` holds (a fast machine would otherwise
    finish before the chaos it is meant to carry has happened).
    """
    return asyncio.run(_mixed_load(base_url, orders, clients, until))
