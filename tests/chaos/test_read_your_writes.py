"""Invariant 8: reads may lag, never lie.

With the relay deliberately slowed and a short read wait budget, every command is followed at
once by a read with ``min_version`` = the version the command returned. Each answer must be
either fresh enough (a 200 at that version or newer) or an explicit 503 projection-lagging
problem: never a 200 holding an older version.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.helpers.api import CHECKOUT_KEY, SUPPORT_KEY, headers, order_body, put_product
from tests.helpers.processes import ApiServer

SKU = "SKU-RYW"
TRIES = 1_000
WORKERS = 8
WAIT_BUDGET_SECONDS = "0.2"
RELAY_DELAY_SECONDS = "0.05"


class Tally:
    """Outcomes of the tries, shared by the worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.lies: list[str] = []

    def add(self, outcome: str, lie: str | None = None) -> None:
        with self._lock:
            self.outcomes[outcome] += 1
            if lie is not None:
                self.lies.append(lie)


def write(client: httpx.Client, base_url: str, order_id: str | None) -> tuple[str, int]:
    """Place an order (no ``order_id``) or add a note to one; its id and new version."""
    if order_id is None:
        response = client.post(
            f"{base_url}/v1/orders",
            json=order_body(items=[(SKU, 1)]),
            headers=headers(CHECKOUT_KEY, str(uuid.uuid4())),
        )
    else:
        response = client.post(
            f"{base_url}/v1/orders/{order_id}/notes",
            json={"body": f"note {uuid.uuid4()}"},
            headers=headers(SUPPORT_KEY, str(uuid.uuid4())),
        )
    assert response.status_code == 201, response.text
    body = response.json()
    return str(body["order_id"]), int(body["version"])


def judge(response: httpx.Response, min_version: int) -> tuple[str, str | None]:
    """Classify one read: ("fresh" | "lagging" | "other", why it breaks the invariant)."""
    where = f"min_version={min_version}: {response.status_code} {response.text[:300]}"
    if response.status_code == 200:
        body = response.json()
        if body["freshness"]["source_version"] < min_version or body["version"] < min_version:
            return "stale_200", f"older state served as fresh, {where}"
        if response.headers.get("ETag") != f'"{body["freshness"]["source_version"]}"':
            return "stale_200", f"ETag does not match freshness, {where}"
        return "fresh", None
    if response.status_code == 503:
        problem: dict[str, Any] = response.json()
        ok = (
            response.headers["content-type"] == "application/problem+json"
            and problem["type"].endswith("/projection-lagging")
            and problem["min_version"] == min_version
            and (problem["projected_version"] is None or problem["projected_version"] < min_version)
        )
        return ("lagging", None) if ok else ("other", f"malformed lagging problem, {where}")
    return "other", f"unexpected answer, {where}"


def run_tries(base_url: str, count: int, tally: Tally) -> None:
    """``count`` write-then-read tries, alternating a new order and a note on it."""
    with httpx.Client(timeout=30) as client:
        order_id: str | None = None
        for i in range(count):
            order_id, version = write(client, base_url, order_id if i % 2 else None)
            read = client.get(
                f"{base_url}/v1/orders/{order_id}",
                params={"min_version": version},
                headers=headers(CHECKOUT_KEY),
            )
            tally.add(*judge(read, version))


def test_a_read_at_min_version_is_fresh_or_an_explicit_503_never_older_state(
    start_pipeline: Callable[..., ApiServer],
) -> None:
    api = start_pipeline(
        relay={"relay_publish_delay_seconds": RELAY_DELAY_SECONDS},
        read_wait_budget_seconds=WAIT_BUDGET_SECONDS,
    )
    put_product(api.url, SKU, on_hand=TRIES * 2)

    tally = Tally()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(run_tries, api.url, TRIES // WORKERS, tally) for _ in range(WORKERS)]
        for future in futures:
            future.result()
    seconds = time.monotonic() - started

    fresh, lagging = tally.outcomes["fresh"], tally.outcomes["lagging"]
    print(
        f"\n{TRIES} read-your-writes tries in {seconds:.1f} s:"
        f" {fresh} fresh 200s, {lagging} projection-lagging 503s, outcomes {dict(tally.outcomes)}"
    )
    assert tally.lies == [], tally.lies[:10]
    assert fresh + lagging == TRIES
    assert fresh > 0
