"""The analytics projection: order state and order events in ClickHouse, for ops dashboards.

One batch of the stream becomes one lookup and two inserts (``order_events``, ``order_state``),
each a single part with up to a batch of rows: ClickHouse wants few large inserts, never one
per event. Idempotence does not depend on the lookup: the tables are ReplacingMergeTrees
keyed so that a redelivered event writes a row that collapses with its twin, and an older
version never outranks a newer one (``source_version`` is the replacing version). The lookup
of the stored versions only serves the outcome counters (applied / duplicate / stale), skips
rewriting rows already current, and carries milestone timestamps forward; with one consumer
per group, as deployed, it is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from orders_cqrs.readmodels.analytics.rows import (
    EVENT_COLUMNS,
    EVENT_TYPES,
    LOOKUP_COLUMNS,
    STATE_COLUMNS,
    STATE_TYPES,
    plan_batch,
    repaired_rows,
)
from orders_cqrs.readmodels.analytics.schema import SchemaGate
from orders_cqrs.readmodels.analytics.session import ClickHouseSession
from orders_cqrs.readmodels.port import Outcome, Projection
from orders_cqrs.relay.wire import StreamEvent

NAME = "analytics"
_STORED = """
SELECT {columns}
  FROM {table} FINAL
 WHERE order_id IN {{ids:Array(UUID)}}
"""


@dataclass(frozen=True, slots=True)
class Tables:
    """The tables one generation of the read model lives in."""

    state: str = "order_state"
    events: str = "order_events"


LIVE = Tables()  # the names readers use; a rebuild swaps a new generation in under them


def _now() -> datetime:
    return datetime.now(UTC)


class AnalyticsProjection(Projection):
    """Feeds ``order_state`` and ``order_events``; migrates the schema before its first write."""

    name = NAME

    def __init__(
        self,
        session: ClickHouseSession,
        *,
        clock: Callable[[], datetime] = _now,
        tables: Tables = LIVE,
    ) -> None:
        self.session = session
        # A rebuild's projection writes its new generation's tables, then (after the swap)
        # the live names again: ``tables`` may change between batches, never within one.
        self.tables = tables
        self.schema = SchemaGate(session)
        self.clock = clock

    async def apply(self, events: Sequence[StreamEvent]) -> list[Outcome]:
        """One lookup, one insert per table. Transport trouble is ``StoreUnavailable``
        (raised by the session), a malformed payload a ``KeyError``/``ValueError`` that makes
        the engine retry event by event and park the culprit."""
        await self.schema.ensure()
        projected_at = self.clock()
        stored = await self.stored({event.aggregate_id for event in events}, LOOKUP_COLUMNS)
        plan = plan_batch(events, stored, projected_at)
        state = plan.state_values()
        if plan.repairs:  # rare: a late event completes a newer stored row
            full = await self.stored(plan.repairs, STATE_COLUMNS)
            state += repaired_rows(list(full.values()), plan.repairs, projected_at)
        # Events first: if the state insert fails the batch is redelivered and both inserts
        # run again, the events collapsing with the rows already written.
        tables = self.tables
        await self.session.insert(tables.events, plan.event_rows, EVENT_COLUMNS, EVENT_TYPES)
        await self.session.insert(tables.state, state, STATE_COLUMNS, STATE_TYPES)
        return plan.outcomes

    async def stored(
        self, order_ids: Iterable[UUID], columns: Sequence[str]
    ) -> dict[UUID, dict[str, Any]]:
        """The current (merged) state of these orders, the given columns."""
        ids = sorted(set(order_ids))
        if not ids:
            return {}
        sql = _STORED.format(columns=", ".join(columns), table=self.tables.state)
        rows = await self.session.query(sql, {"ids": ids})
        return {UUID(str(row["order_id"])): row for row in rows}
