"""Checkout throughput: HTTP through the real API beside its own SQL through pgbench.

At each concurrency, three runs against the same database, one after the other:

1. wrk → ``orders-cqrs api --workers N`` (with the relay and the summary projector running
   as their own processes, as in production): 2xx per second, latency percentiles, and API
   CPU seconds per order (``/proc`` CPU of the API processes ÷ orders PostgreSQL committed);
2. pgbench replaying the captured checkout SQL from as many clients: the database's ceiling
   for exactly this transaction;
3. the event-sourcing library placing one-event orders from as many clients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from orders_cqrs.tooling.bench.eventstore import EventStoreRun, run_event_store
from orders_cqrs.tooling.bench.load import HttpRun, PgbenchRun, run_pgbench, run_wrk
from orders_cqrs.tooling.bench.processes import Service, cpu_seconds


@dataclass(frozen=True, slots=True)
class CheckoutPoint:
    """Every figure measured at one concurrency."""

    http: HttpRun
    orders_committed: int
    api_cpu_seconds: float
    pgbench: PgbenchRun
    event_store: EventStoreRun | None

    @property
    def cpu_ms_per_order(self) -> float:
        """API CPU milliseconds per committed order."""
        return 1000 * self.api_cpu_seconds / self.orders_committed if self.orders_committed else 0

    def as_dict(self) -> dict[str, Any]:
        """For the results file."""
        return {
            "connections": self.http.connections,
            "http": self.http.as_dict(),
            "orders_committed": self.orders_committed,
            "api_cpu_seconds": self.api_cpu_seconds,
            "api_cpu_ms_per_order": self.cpu_ms_per_order,
            "pgbench": self.pgbench.as_dict(),
            "ratio_http_to_pgbench": self.http.rate / self.pgbench.tps if self.pgbench.tps else 0,
            "event_store": (
                None
                if self.event_store is None
                else {
                    "clients": self.event_store.clients,
                    "events": self.event_store.events,
                    "rate": self.event_store.rate,
                }
            ),
        }


def count_orders(dsn: str) -> int:
    """Orders in the write model: what was committed, whatever the HTTP client saw."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM orders").fetchone()
    return int(row[0]) if row else 0


def measure_point(
    *,
    dsn: str,
    api: Service,
    api_url: str,
    wrk_script: Path,
    pgbench_script: Path,
    connections: int,
    seconds: int,
    with_event_store: bool,
    say: Callable[[str], None],
) -> CheckoutPoint:
    """The three runs at one concurrency."""
    say(f"  wrk -c{connections} for {seconds} s → POST /v1/orders")
    before_orders, before_cpu = count_orders(dsn), cpu_seconds(api.pid)
    http = run_wrk(api_url, wrk_script, connections, seconds, threads=2)
    cpu = cpu_seconds(api.pid) - before_cpu
    committed = count_orders(dsn) - before_orders
    say(f"  pgbench -c{connections} for {seconds} s → the captured checkout SQL")
    pgbench = run_pgbench(dsn, pgbench_script, connections, seconds=seconds)
    event_store = None
    if with_event_store:
        say(f"  eventsourcing, {connections} clients for {seconds} s → one-event orders")
        event_store = run_event_store(dsn, connections, seconds)
    return CheckoutPoint(http, committed, cpu, pgbench, event_store)
