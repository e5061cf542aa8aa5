"""Freshness: how long after its commit an order is visible in each read model.

Checkouts arrive at a fixed rate (half the measured maximum) while the relay and every
projector run. The commit time is the outbox row's ``occurred_at`` (the transaction's time,
what reads expose as ``committed_at``). Visibility is taken where each store makes it real:

* summary (Redis): the hash's ``projected_at``, written by the same Lua call that makes the
  order readable;
* search (OpenSearch): polled — a sample of orders is searched by id every 50 ms until each
  appears, so the index refresh is included (resolution: the poll interval);
* analytics (ClickHouse): ``projected_at`` of the event rows, stamped just before the insert
  that makes them queryable; read after the run, because chDB's engine belongs to the API
  process while it runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import psycopg
import redis

from orders_cqrs.readmodels.summary.keys import ACTIVE_KEY, DEFAULT_NAMESPACE, order_key

POLL_SECONDS = 0.05


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 (nearest rank) and the count; empty → zeros."""
    if not values:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    return {"n": len(ordered), "p50": rank(50), "p95": rank(95), "p99": rank(99)}


@dataclass
class CommitLog:
    """Orders committed during the phase: id → commit time (epoch seconds), from the outbox."""

    dsn: str
    after: int = 0
    committed: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        """Only rows after the current end of the outbox count."""
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute("SELECT coalesce(max(position), 0) FROM outbox").fetchone()
        self.after = int(row[0]) if row else 0

    def poll(self) -> list[str]:
        """New committed orders since the last poll."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT position, aggregate_id::text, extract(epoch FROM occurred_at)::float8"
                " FROM outbox WHERE position > %s AND event_type = 'OrderPlaced'"
                " ORDER BY position",
                (self.after,),
            ).fetchall()
        fresh = []
        for position, order_id, at in rows:
            self.after = max(self.after, int(position))
            self.committed[order_id] = float(at)
            fresh.append(order_id)
        return fresh


@dataclass
class SearchWatch:
    """Searches sampled orders by id until each is visible; records when it first was."""

    url: str
    alias: str
    every: int
    pending: set[str] = field(default_factory=set)
    seen: dict[str, float] = field(default_factory=dict)
    _count: int = 0

    def add(self, order_ids: list[str]) -> None:
        """Sample every ``every``-th new order."""
        for order_id in order_ids:
            self._count += 1
            if self._count % self.every == 0:
                self.pending.add(order_id)

    def poll(self, client: httpx.Client) -> None:
        """One search for every pending order; the hits are visible now."""
        if not self.pending:
            return
        body = {"query": {"ids": {"values": sorted(self.pending)}}, "_source": False}
        response = client.post(
            f"{self.url}/{self.alias}/_search",
            json={**body, "size": len(self.pending)},
        )
        if response.status_code != 200:
            return  # the index may not exist yet: nothing is visible
        now = time.time()
        for hit in response.json()["hits"]["hits"]:
            self.pending.discard(hit["_id"])
            self.seen.setdefault(hit["_id"], now)


def summary_lags(client: redis.Redis, committed: dict[str, float]) -> list[float]:
    """projected_at − commit time of every order the summary holds."""
    namespace = client.get(ACTIVE_KEY) or DEFAULT_NAMESPACE
    ids = list(committed)
    pipe = client.pipeline(transaction=False)
    for order_id in ids:
        pipe.hget(order_key(str(namespace), order_id), "projected_at")
    lags = []
    for order_id, stamp in zip(ids, pipe.execute(), strict=True):
        if stamp:
            lags.append(datetime.fromisoformat(str(stamp)).timestamp() - committed[order_id])
    return lags


def search_lags(watch: SearchWatch, committed: dict[str, float]) -> list[float]:
    """First-visible − commit time of the sampled orders that became visible."""
    return [at - committed[order_id] for order_id, at in watch.seen.items()]


def drive(
    log: CommitLog,
    watch: SearchWatch | None,
    wrk_running: Any,
    settle_seconds: float,
) -> None:
    """Follow commits (and search visibility) while wrk runs, then until search caught up."""
    deadline: float | None = None
    with httpx.Client(timeout=5) as client:
        while True:
            fresh = log.poll()
            if watch is not None:
                watch.add(fresh)
                watch.poll(client)
            if deadline is None and not wrk_running():
                deadline = time.monotonic() + settle_seconds
            if deadline is not None and (
                watch is None or not watch.pending or time.monotonic() > deadline
            ):
                return
            time.sleep(POLL_SECONDS)
