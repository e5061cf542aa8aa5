"""Order time series on the real ClickHouse engine: a scripted day of events against totals
computed by hand, with every event delivered twice and merges stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orders_cqrs.failures.refusals import InvalidDashboardQuery
from orders_cqrs.readmodels.analytics.dashboards import Dashboards, StuckSla
from orders_cqrs.readmodels.analytics.session import ConnectSession
from tests.helpers.analytics import Script, project, stop_merges

DAY = datetime(2025, 3, 10, tzinfo=UTC)
CARD, WALLET = "sandbox-card", "sandbox-wallet"


def at(hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def scripted_day() -> Script:
    """One day of a small shop, in UTC, plus two orders just outside it."""
    s = Script()
    s.place(DAY - timedelta(seconds=1), region="Berlin")  # the day before: outside
    a = s.place(at(8, 5), region="Berlin", provider=CARD, price=1000)
    b = s.place(at(8, 20), region="Berlin", provider=CARD, price=2000)
    c = s.place(at(8, 40), region="Madrid", provider=WALLET, price=500, quantity=3)
    d = s.place(at(8, 59), region="Berlin", provider=CARD, price=3000)
    s.authorize(a, at(9, 10))
    s.authorize(b, at(9, 15))
    s.decline(d, at(9, 30))
    s.authorize(c, at(9, 45))
    s.capture(a, at(10, 0))
    s.capture(c, at(10, 30), amount=1000)
    s.deliver(s.ship(a, at(14)), at(16))
    s.refund(a, at(17), amount=400)
    s.cancel(b, at(17, 30))
    s.place(at(23, 59), region="Madrid", provider=CARD, price=700, currency="USD")
    s.place(DAY + timedelta(days=1), region="Berlin")  # next midnight: `to` is exclusive
    return s


@pytest.fixture
async def dashboards(clean: ConnectSession) -> Dashboards:
    await stop_merges(clean)
    events = scripted_day().events
    await project(clean, events[::-1] + events, batch=7)  # twice, newest first the first time
    return Dashboards(clean, StuckSla(300, 3600, 172_800), clock=lambda: DAY + timedelta(days=2))


def point(**values: Any) -> dict[str, Any]:
    """A bucket with zeros except ``values``."""
    base: dict[str, Any] = {
        "orders_placed": 0,
        "refunds": 0,
        "authorized": 0,
        "declined": 0,
        "cancelled": 0,
        "revenue": {},
        "captured": {},
        "refunded": {},
        "decline_rate": None,
    }
    return {**base, **values}


def without_time(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in p.items() if k != "t"} for p in points]


async def test_hourly_series_of_a_scripted_day_match_the_hand_computed_totals(
    dashboards: Dashboards,
) -> None:
    result = await dashboards.order_series("hour", "none", DAY, DAY + timedelta(days=1))

    assert result["buckets"] == [at(h).isoformat() for h in range(24)]
    (series,) = result["series"]
    expected = [point() for _ in range(24)]
    expected[8] = point(orders_placed=4, revenue={"EUR": 1000 + 2000 + 1500 + 3000})
    expected[9] = point(authorized=3, declined=1, decline_rate=0.25)
    expected[10] = point(captured={"EUR": 2000})
    expected[17] = point(refunds=1, refunded={"EUR": 400}, cancelled=1)
    expected[23] = point(orders_placed=1, revenue={"USD": 700})
    assert without_time(series["points"]) == expected
    assert result["decline_rate_by_provider"] == {
        CARD: {"authorized": 2, "declined": 1, "decline_rate": 0.3333},
        WALLET: {"authorized": 1, "declined": 0, "decline_rate": 0.0},
    }


async def test_series_by_provider_and_by_region_split_the_same_totals(
    dashboards: Dashboards,
) -> None:
    by_provider = await dashboards.order_series("hour", "provider", DAY, DAY + timedelta(days=1))
    points = {s["key"]: without_time(s["points"]) for s in by_provider["series"]}
    assert sorted(points) == [CARD, WALLET]
    assert points[CARD][8] == point(orders_placed=3, revenue={"EUR": 6000})
    assert points[CARD][9] == point(authorized=2, declined=1, decline_rate=0.3333)
    assert points[CARD][23] == point(orders_placed=1, revenue={"USD": 700})
    assert points[WALLET][9] == point(authorized=1, decline_rate=0.0)
    assert points[WALLET][10] == point(captured={"EUR": 1000})

    by_region = await dashboards.order_series("hour", "region", DAY, DAY + timedelta(days=1))
    placed = {
        s["key"]: [p["orders_placed"] for p in s["points"] if p["orders_placed"]]
        for s in by_region["series"]
    }
    assert placed == {"Berlin": [3], "Madrid": [1, 1]}


async def test_daily_and_minute_buckets(dashboards: Dashboards) -> None:
    day = await dashboards.order_series("day", "none", DAY, DAY + timedelta(days=1))
    assert [p["orders_placed"] for p in day["series"][0]["points"]] == [5]

    minutes = await dashboards.order_series("minute", "none", at(8), at(9))
    placed = [p["orders_placed"] for p in minutes["series"][0]["points"]]
    assert len(placed) == 60
    assert [m for m, n in enumerate(placed) if n] == [5, 20, 40, 59]


async def test_the_default_window_ends_now_and_nonsense_is_refused(dashboards: Dashboards) -> None:
    recent = await dashboards.order_series("hour")
    assert recent["to"] == (DAY + timedelta(days=2)).isoformat()
    assert len(recent["buckets"]) == 24
    for bad in (
        {"interval": "week"},
        {"by": "customer"},
        {"start": at(10), "end": at(9)},
        {"interval": "minute", "start": DAY - timedelta(days=30), "end": DAY},
        {"interval": "day", "start": datetime(1, 1, 1, tzinfo=UTC), "end": DAY},
        {"interval": "day", "end": datetime(9999, 1, 1, tzinfo=UTC)},
    ):
        with pytest.raises(InvalidDashboardQuery):
            await dashboards.order_series(**bad)
