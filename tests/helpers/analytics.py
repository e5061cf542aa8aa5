"""Orders scripted through the real aggregate on a controlled clock, turned into stream events,
for the analytics suites (their chDB engine is a fixture of ``tests/integration/conftest.py``)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from orders_cqrs.domain.order import Order
from orders_cqrs.domain.values import Address, Customer, OrderLine
from orders_cqrs.readmodels.analytics.projection import AnalyticsProjection
from orders_cqrs.readmodels.analytics.session import ConnectSession
from orders_cqrs.relay.wire import StreamEvent

COUNTRY = {"Berlin": "DE", "Bavaria": "DE", "Île-de-France": "FR", "Madrid": "ES"}


async def stop_merges(session: ConnectSession) -> None:
    """No background merge may collapse rows: only FINAL/argMax can make reads right."""
    for table in ("order_state", "order_events"):
        await session.command(f"SYSTEM STOP MERGES {table}")


@dataclass
class Script:
    """Orders walked through the aggregate at chosen instants; every event is kept."""

    events: list[StreamEvent] = field(default_factory=list)
    _positions: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _taken: dict[uuid.UUID, int] = field(default_factory=dict)

    def _take(self, order: Order, at: datetime) -> None:
        fresh = order.events[self._taken.get(order.id, 0) :]
        self._taken[order.id] = len(order.events)
        for event in fresh:
            position = next(self._positions)
            self.events.append(
                StreamEvent(
                    event_id=event.event_id,
                    position=position,
                    aggregate_id=event.aggregate_id,
                    aggregate_version=event.aggregate_version,
                    event_type=str(event.type),
                    schema_version=event.schema_version,
                    occurred_at=at,
                    headers={},
                    payload=event.to_payload(),
                    stream_id=f"{position}-0",
                )
            )

    def place(
        self,
        at: datetime,
        *,
        region: str = "Berlin",
        provider: str = "sandbox-card",
        price: int = 1000,
        quantity: int = 1,
        currency: str = "EUR",
    ) -> Order:
        """A new order, PENDING_PAYMENT since ``at``."""
        order = Order.place(
            order_id=uuid.uuid4(),
            customer=Customer(id=uuid.uuid4(), email="ops@example.com", name="Ops Test"),
            lines=(OrderLine("SKU-A", "Item", quantity, price),),
            shipping=Address(COUNTRY.get(region, "DE"), region, "City", "10115", "Street 1"),
            currency=currency,
            provider=provider,
            risk_flags=(),
            now=at,
        )
        self._take(order, at)
        return order

    def authorize(self, order: Order, at: datetime) -> Order:
        order.authorize(authorization_ref="auth", now=at)
        self._take(order, at)
        return order

    def decline(self, order: Order, at: datetime) -> Order:
        order.decline(reason="insufficient funds", now=at)
        self._take(order, at)
        return order

    def capture(self, order: Order, at: datetime, amount: int | None = None) -> Order:
        order.capture(amount=amount, now=at)
        self._take(order, at)
        return order

    def ship(self, order: Order, at: datetime) -> Order:
        order.ship(carrier="DHL", tracking_number="T1", now=at)
        self._take(order, at)
        return order

    def deliver(self, order: Order, at: datetime) -> Order:
        order.deliver(now=at)
        self._take(order, at)
        return order

    def cancel(self, order: Order, at: datetime) -> Order:
        order.cancel(reason="changed mind", now=at)
        self._take(order, at)
        return order

    def refund(self, order: Order, at: datetime, amount: int) -> Order:
        order.refund(
            refund_id=uuid.uuid4(),
            amount=amount,
            reason="damaged",
            window=timedelta(days=30),
            now=at,
        )
        self._take(order, at)
        return order

    def note(self, order: Order, at: datetime) -> Order:
        order.add_note(note_id=uuid.uuid4(), author="support", body="called", now=at)
        self._take(order, at)
        return order


async def project(session: ConnectSession, events: list[StreamEvent], batch: int = 50) -> None:
    """Apply the events through the projection, in batches like the engine's."""
    projection = AnalyticsProjection(session)
    for offset in range(0, len(events), batch):
        await projection.apply(events[offset : offset + batch])
