"""Reference: a plain event-sourcing library placing one-event orders on the same PostgreSQL.

pyeventsourcing (``eventsourcing`` on PyPI) with its PostgreSQL persistence on psycopg 3:
each placement is one aggregate with one event, saved in one transaction (the library's
recorder inserts the event and takes its table lock for gap-free notification ids). It
answers "what does a minimal event store cost on this machine and this database", beside
the checkout that also reserves stock, writes the order, receipt, audit row and outbox row.

Clients run as threads over ``min(clients, CPUs)`` processes, so the library's Python is
not capped by one GIL; its tables live in the bench database and go with it.
"""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any
from urllib.parse import urlsplit

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class BenchOrder(Aggregate):
    """An order that is only ever placed: one event."""

    @event("Placed")
    def __init__(self, customer: dict[str, Any], items: list[dict[str, Any]], total: int) -> None:
        self.customer = customer
        self.items = items
        self.total = total


class BenchCheckout(Application[uuid.UUID]):
    """Places ``BenchOrder`` aggregates."""

    def place(self, sku: str) -> None:
        """Save one order with its one event."""
        customer = {"id": str(uuid.uuid4()), "email": "bench@example.com", "name": "Bench"}
        items = [{"sku": sku, "quantity": 1, "unit_price": 1999}]
        self.save(BenchOrder(customer, items, 1999))


def _library_env(dsn: str, pool_size: int, create_table: bool) -> dict[str, str]:
    parts = urlsplit(dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "",
        "POSTGRES_PASSWORD": parts.password or "",
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "y" if create_table else "n",
    }


def _worker(dsn: str, threads: int, seconds: float, start_at: float) -> int:
    """One process: ``threads`` clients placing orders until the shared deadline."""
    app = BenchCheckout(env=_library_env(dsn, threads, create_table=False))
    time.sleep(max(0.0, start_at - time.time()))
    deadline = start_at + seconds

    def client(n: int) -> int:
        placed = 0
        while time.time() < deadline:
            app.place(f"SKU-BENCH-{1000 + (n + placed) % 200}")
            placed += 1
        return placed

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(client, range(threads)))


@dataclass(frozen=True, slots=True)
class EventStoreRun:
    """Events saved by the reference from N clients."""

    clients: int
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        """Events (= orders) per second."""
        return self.events / self.seconds if self.seconds else 0.0


def run_event_store(dsn: str, clients: int, seconds: float) -> EventStoreRun:
    """Place one-event orders from ``clients`` concurrent clients for ``seconds``."""
    BenchCheckout(env=_library_env(dsn, 1, create_table=True)).close()  # tables, once
    processes = max(1, min(clients, os.cpu_count() or 1))
    shares = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    start_at = time.time() + 1.5  # every process connected before the clock starts
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_worker, dsn, share, seconds, start_at) for share in shares]
        events = sum(future.result() for future in futures)
    return EventStoreRun(clients, events, seconds)
