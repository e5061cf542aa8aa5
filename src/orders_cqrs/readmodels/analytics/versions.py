"""Each order's version and status in the analytics read model, for ``verify``."""

from __future__ import annotations

from orders_cqrs.readmodels.analytics.projection import NAME
from orders_cqrs.readmodels.analytics.schema import SchemaGate
from orders_cqrs.readmodels.analytics.session import ClickHouseSession

# ``id``, not ``order_id``: ClickHouse lets WHERE use SELECT aliases, and a String alias
# named like the column would shadow the UUID column in the IN below.
_STATES = """
SELECT toString(order_id) AS id, source_version, status
  FROM order_state FINAL
 WHERE order_id IN {ids:Array(UUID)}
"""


class AnalyticsVersions:
    """``order_state`` read through ``FINAL``: the newest version of each order, as dashboards
    see it."""

    name = NAME

    def __init__(self, session: ClickHouseSession) -> None:
        self.session = session
        self.schema = SchemaGate(session)

    async def states(self, order_ids: list[str]) -> list[tuple[int, str] | None]:
        """(version, status) of each order (None: missing), in the same order."""
        if not order_ids:
            return []
        await self.schema.ensure()
        rows = await self.session.query(_STATES, {"ids": order_ids})
        found = {str(r["id"]): (int(r["source_version"]), str(r["status"])) for r in rows}
        return [found.get(order_id) for order_id in order_ids]

    async def versions(self, order_ids: list[str]) -> list[int | None]:
        """The version of each order (None: missing), in the same order."""
        return [None if s is None else s[0] for s in await self.states(order_ids)]
