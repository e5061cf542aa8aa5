"""Insert throughput of the analytics projection (``orders-cqrs bench-analytics``, ``make bench``).

Synthetic but faithful events: orders walk the real aggregate (place → authorize or decline →
capture → ship → deliver, some cancelled, some refunded, notes), so every payload is the
snapshot the service would publish. Generating them is not timed; applying them in batches
of the projector's size, lookups and inserts included, is.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from orders_cqrs.domain.order import Order
from orders_cqrs.domain.values import Address, Customer, OrderLine
from orders_cqrs.readmodels.analytics.projection import AnalyticsProjection
from orders_cqrs.readmodels.analytics.session import ClickHouseSession, ConnectSession
from orders_cqrs.relay.wire import StreamEvent

REGIONS = (("DE", "Berlin"), ("DE", "Bavaria"), ("FR", "Île-de-France"), ("ES", "Madrid"))
PROVIDERS = ("sandbox-card", "sandbox-wallet")


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _lifecycle(order: Order, rng: random.Random, at: datetime) -> None:
    """Walk one order a random but legal way through its lifecycle."""
    step = timedelta(seconds=rng.randint(1, 600))
    if rng.random() < 0.12:
        order.decline(reason="insufficient funds", now=at + step)
        return
    order.authorize(authorization_ref=f"auth-{order.id.hex[:8]}", now=at + step)
    if rng.random() < 0.08:
        order.cancel(reason="changed mind", now=at + 2 * step)
        return
    order.capture(amount=None, now=at + 2 * step)
    if rng.random() < 0.1:
        order.add_note(note_id=_uuid(rng), author="support", body="called", now=at + 3 * step)
    order.ship(carrier="DHL", tracking_number=f"T{order.id.hex[:10]}", now=at + 4 * step)
    order.deliver(now=at + 5 * step)
    if rng.random() < 0.05:
        order.refund(
            refund_id=_uuid(rng),
            amount=max(1, order.payment.captured // 2),
            reason="damaged",
            window=timedelta(days=30),
            now=at + 6 * step,
        )


def synthetic_events(
    count: int, *, seed: int = 7, start: datetime | None = None
) -> list[StreamEvent]:
    """``count`` events of whole order lifecycles, in stream order."""
    rng = random.Random(seed)
    moment = start or datetime(2025, 1, 1, tzinfo=UTC)
    events: list[StreamEvent] = []
    while len(events) < count:
        country, region = rng.choice(REGIONS)
        order = Order.place(
            order_id=_uuid(rng),
            customer=Customer(id=_uuid(rng), email="bench@example.com", name="Bench"),
            lines=(
                OrderLine("SKU-BENCH", "Bench item", rng.randint(1, 3), rng.randint(500, 9000)),
            ),
            shipping=Address(country, region, "City", "10115", "Street 1"),
            currency="EUR",
            provider=rng.choice(PROVIDERS),
            risk_flags=(),
            now=moment,
        )
        _lifecycle(order, rng, moment)
        for domain_event in order.events:
            position = len(events) + 1
            events.append(
                StreamEvent(
                    event_id=domain_event.event_id,
                    position=position,
                    aggregate_id=domain_event.aggregate_id,
                    aggregate_version=domain_event.aggregate_version,
                    event_type=str(domain_event.type),
                    schema_version=domain_event.schema_version,
                    occurred_at=datetime.fromisoformat(domain_event.snapshot["updated_at"]),
                    headers={},
                    payload=domain_event.to_payload(),
                    stream_id=f"{position}-0",
                )
            )
        moment += timedelta(seconds=rng.randint(1, 20))
    return events[:count]


def batches(events: list[StreamEvent], size: int) -> Iterator[list[StreamEvent]]:
    """Consecutive slices of ``size`` events, like the engine's reads."""
    for offset in range(0, len(events), size):
        yield events[offset : offset + size]


@dataclass(frozen=True, slots=True)
class BenchReport:
    """What the run measured."""

    events: int
    batch_size: int
    seconds: float
    orders: int
    event_rows: int

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds if self.seconds else 0.0


async def run_bench(
    count: int,
    batch_size: int,
    *,
    url: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> BenchReport:
    """Apply ``count`` synthetic events; into a throwaway chDB directory unless ``url``."""
    events = synthetic_events(count)
    scratch = None if url else tempfile.mkdtemp(prefix="orders-bench-chdb-")
    session: ClickHouseSession = ConnectSession(url or f"chdb://{scratch}")
    projection = AnalyticsProjection(session)
    try:
        await projection.schema.ensure()  # schema creation is not insert throughput
        started = time.perf_counter()
        for batch in batches(events, batch_size):
            await projection.apply(batch)
            if on_progress is not None:
                on_progress(len(batch))
        seconds = time.perf_counter() - started
        orders = await session.query("SELECT count() AS n FROM order_state FINAL")
        rows = await session.query("SELECT count() AS n FROM order_events FINAL")
    finally:
        await session.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return BenchReport(count, batch_size, seconds, int(orders[0]["n"]), int(rows[0]["n"]))
