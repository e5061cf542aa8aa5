"""Stuck orders on the real ClickHouse engine, on a controlled clock: orders left in each state
for known durations across three regions and two providers give exactly the expected grid."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from orders_cqrs.domain.order import Order
from orders_cqrs.readmodels.analytics.dashboards import Dashboards, StuckSla
from orders_cqrs.readmodels.analytics.session import ConnectSession
from tests.helpers.analytics import Script, project, stop_merges

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
SLA = StuckSla(pending_payment=300, authorized=3600, captured=172_800)  # the defaults
CARD, WALLET = "sandbox-card", "sandbox-wallet"
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


class Scenario:
    """Who is where, since when: the script of the test, as data."""

    def __init__(self) -> None:
        self.script = Script()
        self.named: dict[str, Order] = {}

    def pending(self, region: str, provider: str, ago: timedelta, name: str = "") -> Order:
        order = self.script.place(NOW - ago, region=region, provider=provider)
        self.named[name or str(order.id)] = order
        return order

    def authorized(self, region: str, provider: str, ago: timedelta, name: str = "") -> Order:
        order = self.pending(region, provider, ago + MIN, name)
        return self.script.authorize(order, NOW - ago)

    def captured(self, region: str, provider: str, ago: timedelta) -> Order:
        order = self.authorized(region, provider, ago + MIN)
        return self.script.capture(order, NOW - ago)


def build() -> Scenario:
    s = Scenario()
    # PENDING_PAYMENT (SLA 5 min since placed)
    s.pending("Berlin", CARD, 10 * MIN)
    s.pending("Berlin", CARD, 20 * MIN, "berlin-pending-20m")
    s.pending("Berlin", CARD, 2 * MIN)  # young
    s.pending("Île-de-France", CARD, 6 * MIN)
    s.pending("Île-de-France", WALLET, 7 * MIN)
    s.pending("Île-de-France", WALLET, 8 * MIN)
    s.pending("Île-de-France", WALLET, 4 * MIN)  # young
    s.pending("Bavaria", CARD, 1 * MIN)  # young
    # AUTHORIZED (SLA 1 h since authorized)
    s.authorized("Berlin", CARD, 2 * HOUR, "berlin-authorized-2h")
    noted = s.authorized("Bavaria", WALLET, 90 * MIN)
    s.script.note(noted, NOW - 5 * MIN)  # a recent note must not reset the clock
    s.authorized("Bavaria", CARD, 30 * MIN)  # young
    # CAPTURED (SLA 48 h since captured)
    s.captured("Berlin", WALLET, 3 * DAY)
    s.captured("Île-de-France", CARD, 50 * HOUR)
    s.captured("Bavaria", WALLET, 1 * DAY)  # young
    # Final or untracked states are never stuck, however old.
    s.script.decline(s.pending("Berlin", CARD, 6 * HOUR), NOW - 5 * HOUR)
    s.script.cancel(s.authorized("Bavaria", CARD, 5 * HOUR), NOW - 4 * HOUR)
    shipped = s.captured("Berlin", WALLET, 5 * DAY)
    s.script.ship(shipped, NOW - 4 * DAY)
    delivered = s.captured("Île-de-France", WALLET, 10 * DAY)
    s.script.deliver(s.script.ship(delivered, NOW - 9 * DAY), NOW - 8 * DAY)
    refunded = s.captured("Bavaria", WALLET, 3 * DAY)
    s.script.refund(refunded, NOW - 2 * DAY, amount=refunded.payment.captured)
    return s


async def _projected(session: ConnectSession) -> Scenario:
    scenario = build()
    await stop_merges(session)
    events = list(scenario.script.events)
    random.Random(7).shuffle(events)  # arrival order must not matter
    await project(session, events + events[:25], batch=17)
    return scenario


def _grid(result: dict[str, Any]) -> dict[tuple[str, ...], tuple[int, float]]:
    """``{(group values…): (orders, oldest age)}`` of a stuck-orders answer."""
    return {
        tuple(g[c] for c in result["group_by"]): (g["orders"], g["oldest_age_seconds"])
        for g in result["groups"]
    }


async def test_stuck_orders_by_region_and_provider_are_exactly_the_scripted_grid(
    clean: ConnectSession,
) -> None:
    await _projected(clean)
    dashboards = Dashboards(clean, SLA, clock=lambda: NOW)

    result = await dashboards.stuck_orders(("region", "provider"))

    assert _grid(result) == {
        ("Berlin", CARD): (3, 2 * 3600.0),
        ("Berlin", WALLET): (1, 3 * 86_400.0),
        ("Bavaria", WALLET): (1, 90 * 60.0),
        ("Île-de-France", CARD): (2, 50 * 3600.0),
        ("Île-de-France", WALLET): (2, 8 * 60.0),
    }
    assert (result["total"], result["oldest_age_seconds"]) == (9, 3 * 86_400.0)
    assert result["as_of"] == NOW.isoformat()


async def test_stuck_orders_by_state_use_each_states_own_sla_and_clock(
    clean: ConnectSession,
) -> None:
    await _projected(clean)
    dashboards = Dashboards(clean, SLA, clock=lambda: NOW)

    by_status = await dashboards.stuck_orders(("status",))

    assert _grid(by_status) == {
        ("PENDING_PAYMENT",): (5, 20 * 60.0),
        ("AUTHORIZED",): (2, 2 * 3600.0),
        ("CAPTURED",): (2, 3 * 86_400.0),
    }
    assert by_status["sla_seconds"] == {
        "PENDING_PAYMENT": 300,
        "AUTHORIZED": 3600,
        "CAPTURED": 172_800,
    }


async def test_the_grid_moves_with_the_clock_and_older_than_overrides_every_sla(
    clean: ConnectSession,
) -> None:
    await _projected(clean)
    later = Dashboards(clean, SLA, clock=lambda: NOW + 31 * MIN)

    moved = _grid(await later.stuck_orders(("region", "provider")))

    assert moved[("Bavaria", CARD)] == (2, 61 * 60.0)  # pending 32 min + authorized 61 min
    assert moved[("Berlin", CARD)][0] == 4
    assert moved[("Île-de-France", WALLET)][0] == 3
    assert sum(count for count, _ in moved.values()) == 13

    now = Dashboards(clean, SLA, clock=lambda: NOW)
    hour = _grid(await now.stuck_orders(("status",), older_than=3600))
    assert hour == {("AUTHORIZED",): (2, 2 * 3600.0), ("CAPTURED",): (3, 3 * 86_400.0)}


async def test_drill_down_lists_the_oldest_order_ids_first_up_to_the_limit(
    clean: ConnectSession,
) -> None:
    scenario = await _projected(clean)
    dashboards = Dashboards(clean, SLA, clock=lambda: NOW)

    result = await dashboards.stuck_orders(("region", "provider"), drill=True, limit=2)

    berlin = next(g for g in result["groups"] if (g["region"], g["provider"]) == ("Berlin", CARD))
    assert berlin["orders_oldest_first"] == [
        {"order_id": str(scenario.named["berlin-authorized-2h"].id), "age_seconds": 7200.0},
        {"order_id": str(scenario.named["berlin-pending-20m"].id), "age_seconds": 1200.0},
    ]
    assert all(len(g["orders_oldest_first"]) <= 2 for g in result["groups"])
