"""A worker's /healthz (on its metrics port) follows its loop, not its HTTP thread: a
projector whose Redis is stopped cannot finish a round and answers 503, and 200 again once
Redis is back. The ``redis_outage`` fixture always starts Redis again, even when it fails."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.metrics import wait_for_metrics
from tests.helpers.outage import StoreOutage
from tests.helpers.processes import Worker, free_port

STALE_AFTER = 3.0  # seconds without a finished round before /healthz fails
OUTAGE_ATTEMPTS = 5


def _health(port: int) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
    except httpx.HTTPError:
        return None


def _wait_for_health(port: int, status: int, seconds: float) -> float:
    """Seconds until /healthz answered ``status``; fails after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if _health(port) == status:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"/healthz never answered {status} within {seconds} s")


def test_a_projector_that_cannot_reach_redis_is_unhealthy_until_redis_is_back(
    db: psycopg.Connection[Any],
    start_worker: Callable[..., Worker],
    redis_outage: StoreOutage,
) -> None:
    port = free_port()
    start_worker(
        "project",
        "summary",
        projection_metrics_port=str(port),
        worker_stale_after_seconds=str(STALE_AFTER),
    )
    wait_for_metrics(port)
    _wait_for_health(port, 200, 20)

    for _ in redis_outage.windows(OUTAGE_ATTEMPTS):
        went_stale = _wait_for_health(port, 503, 20)
        # The HTTP thread answers all along, metrics included: only the loop is stuck.
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code == 200
    assert went_stale <= STALE_AFTER + 6  # a round that was under way fails first
    body = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert body.headers["content-type"] == "application/problem+json"
    assert body.json()["status"] == 503

    redis_outage.start()
    # The engine's backoff is at most 5 s: the next round after that succeeds.
    _wait_for_health(port, 200, 30)
