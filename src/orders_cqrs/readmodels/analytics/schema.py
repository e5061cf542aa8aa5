"""The analytics schema, versioned in code (ClickHouse has no Alembic), and its runner.

Each migration is a list of statements that are idempotent on their own (``IF NOT EXISTS``):
two processes may start at once against one server, or a process may die between a DDL and
its ``schema_migrations`` row, and running a migration twice must be harmless. The
bookkeeping table is a ReplacingMergeTree on ``version`` for the same reason: a version
recorded twice collapses to one row, and it is read through ``FINAL``.

Why the tables look the way they do:

- ``order_state`` is one row per order *after merges*: a ReplacingMergeTree whose version
  column is the aggregate's ``source_version``, so the newest version wins whatever order the
  events arrive in, and a redelivered event writes a row identical to one already there. It
  is deliberately not partitioned: ReplacingMergeTree only collapses rows inside a partition,
  and an order's rows must always meet. Readers use ``FINAL``, never raw rows.
- ``order_events`` is one row per event, the source of time series. Its sorting key ends in
  ``event_id`` and its partition derives from ``occurred_at``, which a redelivery repeats
  exactly, so duplicates share a key and a partition and collapse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from orders_cqrs.readmodels.analytics.rows import TS
from orders_cqrs.readmodels.analytics.session import ClickHouseSession

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree ORDER BY version
"""

# Migration 1, frozen: a later change is a new migration (ALTER … IF NOT EXISTS), never an
# edit here. A test checks that the live tables match the column types inserts name.
ORDER_STATE = """
CREATE TABLE IF NOT EXISTS order_state (
    order_id UUID,
    source_version UInt32,
    status LowCardinality(String),
    region LowCardinality(String),
    country LowCardinality(String),
    provider LowCardinality(String),
    currency LowCardinality(String),
    total Int64,
    authorized_amount Int64,
    captured_amount Int64,
    refunded_amount Int64,
    placed_at DateTime64(3, 'UTC'),
    authorized_at Nullable(DateTime64(3, 'UTC')),
    captured_at Nullable(DateTime64(3, 'UTC')),
    shipped_at Nullable(DateTime64(3, 'UTC')),
    delivered_at Nullable(DateTime64(3, 'UTC')),
    cancelled_at Nullable(DateTime64(3, 'UTC')),
    declined_at Nullable(DateTime64(3, 'UTC')),
    updated_at DateTime64(3, 'UTC'),
    last_event_id UUID,
    projected_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(source_version)
ORDER BY order_id
"""

ORDER_EVENTS = """
CREATE TABLE IF NOT EXISTS order_events (
    event_id UUID,
    event_type LowCardinality(String),
    order_id UUID,
    version UInt32,
    occurred_at DateTime64(3, 'UTC'),
    region LowCardinality(String),
    country LowCardinality(String),
    provider LowCardinality(String),
    currency LowCardinality(String),
    amount Int64,
    projected_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (toDate(occurred_at), event_id)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: a version, a name for people, idempotent statements."""

    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "order_state and order_events", (ORDER_STATE, ORDER_EVENTS)),
)
HEAD = MIGRATIONS[-1].version


async def applied_versions(session: ClickHouseSession) -> set[int]:
    """Versions recorded in ``schema_migrations`` (creating the table if needed)."""
    await session.command(BOOKKEEPING)
    rows = await session.query("SELECT version FROM schema_migrations FINAL")
    return {int(row["version"]) for row in rows}


async def migrate(session: ClickHouseSession) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied now."""
    done = await applied_versions(session)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.statements:
            await session.command(statement)
        await session.insert(
            "schema_migrations",
            [[migration.version, migration.name, datetime.now(UTC)]],
            ["version", "name", "applied_at"],
            ["UInt32", "String", TS],
        )
        applied.append(migration.version)
    return applied


class SchemaGate:
    """Migrate once per process before the first read or write, then stay out of the way."""

    def __init__(self, session: ClickHouseSession) -> None:
        self.session = session
        self.ready = False

    async def ensure(self) -> None:
        """Run the migrations unless this gate already saw the schema at head."""
        if not self.ready:
            await migrate(self.session)
            self.ready = True
