"""The analytics projection on the real ClickHouse engine (chDB): the projection contract
(invariant 7), at-least-once out-of-order delivery with merges stopped, late milestones,
schema migrations, and the session port's contract."""

from __future__ import annotations

import dataclasses
import random
import socket
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from orders_cqrs.domain.order import Order
from orders_cqrs.domain.values import OrderStatus
from orders_cqrs.failures.stores import StoreUnavailable
from orders_cqrs.readmodels.analytics.dashboards import Dashboards, StuckSla
from orders_cqrs.readmodels.analytics.projection import AnalyticsProjection
from orders_cqrs.readmodels.analytics.rows import EVENT_SCHEMA, STATE_SCHEMA
from orders_cqrs.readmodels.analytics.schema import HEAD, migrate
from orders_cqrs.readmodels.analytics.session import ClickHouseSession, ConnectSession
from orders_cqrs.readmodels.port import Outcome, Projection
from orders_cqrs.relay.wire import StreamEvent
from tests.helpers.analytics import Script, stop_merges
from tests.helpers.projection_contract import ProjectionContract, Stored

T0 = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def _lifecycles(script: Script, count: int) -> dict[str, Order]:
    """``count`` orders left in every kind of status, some with notes after the fact."""
    orders: dict[str, Order] = {}
    regions, providers = ("Berlin", "Bavaria", "Île-de-France"), ("sandbox-card", "sandbox-wallet")
    for n in range(count):
        at = T0 + timedelta(minutes=n)
        order = script.place(at, region=regions[n % 3], provider=providers[n % 2], price=100 + n)
        walk = n % 6
        if walk == 1:
            script.decline(order, at + timedelta(seconds=5))
        if walk >= 2:
            script.authorize(order, at + timedelta(seconds=5))
        if walk == 3:
            script.note(order, at + timedelta(seconds=30))  # status stays AUTHORIZED
        if walk >= 4:
            script.capture(order, at + timedelta(seconds=60))
        if walk == 5:
            script.ship(order, at + timedelta(hours=1))
            script.deliver(order, at + timedelta(hours=20))
            script.refund(order, at + timedelta(hours=21), amount=50)
        orders[str(order.id)] = order
    return orders


def _at_least_once_out_of_order(
    events: list[StreamEvent], rng: random.Random
) -> list[list[StreamEvent]]:
    """Every event two or three times, shuffled, cut into uneven batches."""
    delivered = [e for e in events for _ in range(rng.choice((2, 3)))]
    rng.shuffle(delivered)
    batches, offset = [], 0
    while offset < len(delivered):
        size = rng.randint(1, 40)
        batches.append(delivered[offset : offset + size])
        offset += size
    return batches


async def test_duplicates_and_reordered_versions_leave_one_current_row_per_order(
    clean: ConnectSession,
) -> None:
    await stop_merges(clean)
    rng = random.Random(20250310)
    script = Script()
    orders = _lifecycles(script, 36)
    projection = AnalyticsProjection(clean)
    for batch in _at_least_once_out_of_order(script.events, rng):
        await projection.apply(batch)

    raw = await clean.query("SELECT count() AS n FROM order_state")
    assert raw[0]["n"] > len(orders), "merges ran or nothing was duplicated: the test proves less"
    rows = await clean.query(
        "SELECT toString(order_id) AS id, source_version, status, toString(last_event_id) AS last,"
        " authorized_at, declined_at, captured_at, refunded_amount FROM order_state FINAL"
    )
    assert len(rows) == len(orders)
    last_event = {str(o.id): str(o.events[-1].event_id) for o in orders.values()}
    for row in rows:
        order = orders[row["id"]]
        assert (row["source_version"], row["status"]) == (order.version, order.status.value)
        assert row["last"] == last_event[row["id"]]
        authorized = any(str(e.type) == "PaymentAuthorized" for e in order.events)
        assert (row["authorized_at"] is not None) == authorized, row  # carried despite reorder
        assert (row["declined_at"] is not None) == (order.status is OrderStatus.PAYMENT_DECLINED)
        assert row["refunded_amount"] == order.payment.refunded

    distinct = len({e.event_id for e in script.events})
    raw_events = await clean.query("SELECT count() AS n FROM order_events")
    final_events = await clean.query("SELECT count() AS n FROM order_events FINAL")
    assert raw_events[0]["n"] > distinct and final_events[0]["n"] == distinct

    dashboards = Dashboards(clean, StuckSla(300, 3600, 172_800))
    series = await dashboards.order_series(
        "day", "none", T0 - timedelta(days=1), T0 + timedelta(days=2)
    )
    totals = {
        name: sum(p[name] for p in series["series"][0]["points"])
        for name in ("orders_placed", "authorized", "declined", "refunds")
    }
    assert totals == {"orders_placed": 36, "authorized": 24, "declined": 6, "refunds": 6}
    by_status = await dashboards.stuck_orders(("status",), older_than=0, now=T0 + timedelta(days=3))
    counts = {g["status"]: g["orders"] for g in by_status["groups"]}
    assert counts == {"PENDING_PAYMENT": 6, "AUTHORIZED": 12, "CAPTURED": 6}


async def test_a_late_authorization_completes_the_newer_stored_row(clean: ConnectSession) -> None:
    """The one thing an older event may still do here: fill a milestone the snapshot lacks."""
    script = Script()
    order = script.place(T0)
    script.authorize(order, T0 + timedelta(minutes=1))
    script.capture(order, T0 + timedelta(minutes=2))
    placed, authorized, captured = script.events
    projection = AnalyticsProjection(clean)

    assert await projection.apply([placed, captured]) == [Outcome.APPLIED, Outcome.APPLIED]
    assert await projection.apply([captured, authorized]) == [Outcome.DUPLICATE, Outcome.STALE]
    row = (await clean.query("SELECT source_version, authorized_at FROM order_state FINAL"))[0]
    # the late v2 completed the stored v3 with the authorization time it alone knows
    assert row["source_version"] == 3
    assert row["authorized_at"].replace(tzinfo=UTC) == T0 + timedelta(minutes=1)


async def test_a_malformed_payload_raises_so_the_engine_can_park_it(clean: ConnectSession) -> None:
    script = Script()
    script.place(T0)
    good = script.events[0]
    bad = dataclasses.replace(good, payload={"facts": {}})
    with pytest.raises(KeyError):
        await AnalyticsProjection(clean).apply([bad])
    assert (await clean.query("SELECT count() AS n FROM order_events"))[0]["n"] == 0


async def test_migrations_are_recorded_once_and_match_the_insert_types(
    clean: ConnectSession,
) -> None:
    assert await migrate(clean) == []  # `clean` migrated already: nothing left to do
    recorded = await clean.query("SELECT version FROM schema_migrations FINAL")
    assert [r["version"] for r in recorded] == [HEAD]
    for table, schema in (("order_state", STATE_SCHEMA), ("order_events", EVENT_SCHEMA)):
        live = await clean.query(
            "SELECT name, type FROM system.columns WHERE database = currentDatabase()"
            " AND table = {t:String} ORDER BY position",
            {"t": table},
        )
        assert [(c["name"], c["type"]) for c in live] == list(schema)


class TestAnalyticsProjection(ProjectionContract):
    """ClickHouse: ReplacingMergeTree on ``source_version``, read through ``FINAL``."""

    session: ConnectSession

    @pytest.fixture(autouse=True)
    def _engine(self, clean: ConnectSession) -> None:
        self.session = clean

    async def empty_projection(self) -> Projection:
        for table in ("order_state", "order_events"):
            await self.session.command(f"TRUNCATE TABLE {table}")
        return AnalyticsProjection(self.session)

    async def stored(self, order_id: uuid.UUID) -> Stored | None:
        rows = await self.session.query(
            "SELECT * FROM order_state FINAL WHERE order_id = {id:UUID}", {"id": order_id}
        )
        if not rows:
            return None
        (row,) = rows
        return Stored(
            version=row["source_version"],
            status=row["status"],
            last_event_id=str(row["last_event_id"]),
            projected_at=row["projected_at"].isoformat(),
            record={k: v for k, v in row.items() if k != "projected_at"},
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ClickHouseSessionContract:
    """What every ClickHouse session must do, whatever the transport."""

    session: ClickHouseSession

    async def test_bound_parameters_typed_inserts_and_rows_as_dicts(self) -> None:
        await self.session.command(
            "CREATE TABLE IF NOT EXISTS contract_probe (id UInt32, at DateTime64(3, 'UTC'),"
            " label LowCardinality(String)) ENGINE = MergeTree ORDER BY id"
        )
        await self.session.command("TRUNCATE TABLE contract_probe")
        rows = [[n, T0 + timedelta(seconds=n), f"l{n % 2}"] for n in range(5)]
        await self.session.insert(
            "contract_probe",
            rows,
            ["id", "at", "label"],
            ["UInt32", "DateTime64(3, 'UTC')", "LowCardinality(String)"],
        )
        got = await self.session.query(
            "SELECT id, label FROM contract_probe WHERE at >= {since:DateTime64(3, 'UTC')}"
            " AND label = {label:String} ORDER BY id",
            {"since": T0 + timedelta(seconds=1), "label": "l1"},
        )
        assert got == [{"id": 1, "label": "l1"}, {"id": 3, "label": "l1"}]

    async def test_bad_sql_is_the_callers_error_not_an_outage(self) -> None:
        with pytest.raises(DatabaseError) as caught:
            await self.session.query("SELECT * FROM no_such_table_here")
        assert not isinstance(caught.value, StoreUnavailable)


class TestChdbSession(ClickHouseSessionContract):
    """The contract on the in-process engine."""

    @pytest.fixture(autouse=True)
    def _session(self, chdb: ConnectSession) -> None:
        self.session = chdb


async def test_a_server_that_does_not_answer_is_unavailable_not_an_error() -> None:
    session = ConnectSession(f"http://127.0.0.1:{_free_port()}/default", connect_timeout=1)
    with pytest.raises(StoreUnavailable):
        await session.query("SELECT 1")
    with pytest.raises(StoreUnavailable):
        await AnalyticsProjection(session).apply([])
    await session.close()
