"""Analytics generations: the live tables keep their names, a rebuild swaps new ones in.

Readers (the dashboards, ``verify``) and the live projector name ``order_state`` and
``order_events``, with ``FINAL``, which a view or an alias would not allow. So a generation
is a pair of tables: a rebuild creates ``order_state_v2`` and ``order_events_v2`` with the
live tables' structure (``CREATE TABLE … AS``, so later migrations carry over), fills them
from the outbox and the stream, then swaps both pairs in one ``EXCHANGE TABLES`` statement
(ClickHouse 26, and chDB's embedded engine of it, exchange each pair atomically; both pairs in
one statement run back to back). No dashboard query joins the two tables, so a query that
lands between the pairs still reads one consistent table. After the swap the old
generation's tables carry the new generation's name and are renamed after their own, to be
dropped. Which generation is live is written in the live state table's ``COMMENT``, which
moves with the table when it is exchanged.

The live projector needs nothing to follow the switch: it names the live tables, which
ClickHouse resolves per statement, so from the swap on its inserts land in the new
generation. The rebuild's own catch-up projection is pointed at the live names as part of
the switch, so that its last drain (``readmodels/rebuild.py``) also writes there.
"""

from __future__ import annotations

from orders_cqrs.readmodels.analytics.projection import LIVE, AnalyticsProjection, Tables
from orders_cqrs.readmodels.analytics.schema import migrate
from orders_cqrs.readmodels.analytics.session import ClickHouseSession
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.rebuild import BlueGreenTarget

FIRST = "v1"  # the generation of tables nobody rebuilt yet (no comment)
_COMMENT = """
SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = {name:String}
"""


def generation_tables(generation: str) -> Tables:
    """The tables a generation is built in (and, after a swap, the old one is dropped from)."""
    if not generation.isidentifier():
        raise ValueError(f"not a generation name: {generation!r}")
    return Tables(state=f"{LIVE.state}_{generation}", events=f"{LIVE.events}_{generation}")


class AnalyticsGenerations(BlueGreenTarget):
    """Analytics generations as table pairs swapped under the live names."""

    name = "analytics"

    def __init__(self, session: ClickHouseSession) -> None:
        self.session = session
        self._building: AnalyticsProjection | None = None

    async def current(self) -> str:
        await migrate(self.session)  # the live tables exist before anything is built
        rows = await self.session.query(_COMMENT, {"name": LIVE.state})
        comment = str(rows[0]["comment"]) if rows else ""
        return comment or FIRST

    async def prepare(self, generation: str) -> Projection:
        await self.drop(generation)  # leftovers of an interrupted rebuild
        tables = generation_tables(generation)
        for live, new in ((LIVE.state, tables.state), (LIVE.events, tables.events)):
            await self.session.command(f"CREATE TABLE {new} AS {live}")
        await self.session.command(f"ALTER TABLE {tables.state} MODIFY COMMENT '{generation}'")
        self._building = AnalyticsProjection(self.session, tables=tables)
        return self._building

    async def switch(self, old: str, new: str) -> None:
        built, retired = generation_tables(new), generation_tables(old)
        await self.session.command(
            f"EXCHANGE TABLES {LIVE.state} AND {built.state}, {LIVE.events} AND {built.events}"
        )
        if self._building is not None:
            self._building.tables = LIVE
        await self.session.command(
            f"RENAME TABLE {built.state} TO {retired.state}, {built.events} TO {retired.events}"
        )

    async def drop(self, generation: str) -> None:
        tables = generation_tables(generation)
        for table in (tables.state, tables.events):
            await self.session.command(f"DROP TABLE IF EXISTS {table} SYNC")
