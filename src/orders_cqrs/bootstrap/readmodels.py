"""The read models by name: their projections, rebuild targets and dashboard queries."""

from __future__ import annotations

from opensearchpy import AsyncOpenSearch
from redis.asyncio import Redis

from orders_cqrs.config import Settings
from orders_cqrs.readmodels.analytics.dashboards import Dashboards, StuckSla
from orders_cqrs.readmodels.analytics.generations import AnalyticsGenerations
from orders_cqrs.readmodels.analytics.projection import NAME as ANALYTICS
from orders_cqrs.readmodels.analytics.projection import AnalyticsProjection
from orders_cqrs.readmodels.analytics.session import ClickHouseSession
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.rebuild import BlueGreenTarget
from orders_cqrs.readmodels.search.generations import SearchIndexes
from orders_cqrs.readmodels.search.index import IndexNames
from orders_cqrs.readmodels.search.projection import SearchProjection
from orders_cqrs.readmodels.summary.generations import SummaryNamespaces
from orders_cqrs.readmodels.summary.projection import SummaryProjection

# Every read model the stream feeds, whether or not this process runs it: their consumer groups
# are the live ones for stream retention (with the rebuilds running now). Not the projections
# this process's settings enable: a relay started without ClickHouse settings must still keep
# what a separate analytics projector has not read. A group of a name not here is orphaned.
STREAM_PROJECTIONS: frozenset[str] = frozenset({"summary", "search", ANALYTICS})


def build_dashboards(settings: Settings, clickhouse: ClickHouseSession | None) -> Dashboards | None:
    """The dashboard queries, with the stuck-order SLAs from settings."""
    if clickhouse is None:
        return None
    sla = StuckSla(
        pending_payment=settings.stuck_authorizing_seconds,
        authorized=settings.stuck_authorized_seconds,
        captured=settings.stuck_captured_seconds,
    )
    return Dashboards(clickhouse, sla)


def build_projections(
    redis: Redis,
    search: AsyncOpenSearch,
    *,
    search_alias: str,
    clickhouse: ClickHouseSession | None = None,
) -> dict[str, Projection]:
    """Every read model the stream feeds, by name (analytics only when ClickHouse is set)."""
    projections: dict[str, Projection] = {
        "summary": SummaryProjection(redis),
        "search": SearchProjection(search, index=search_alias),
    }
    if clickhouse is not None:
        projections["analytics"] = AnalyticsProjection(clickhouse)
    return projections


def rebuild_target(
    name: str,
    redis: Redis,
    search: AsyncOpenSearch,
    *,
    search_alias: str,
    clickhouse: ClickHouseSession | None = None,
) -> BlueGreenTarget:
    """The blue/green target of a rebuildable projection (analytics only when ClickHouse is
    set; with chDB only in the process that holds its directory, see ``analytics/session``)."""
    targets: dict[str, BlueGreenTarget] = {
        "summary": SummaryNamespaces(redis),
        "search": SearchIndexes(search, names=IndexNames(search_alias)),
    }
    if clickhouse is not None:
        targets[ANALYTICS] = AnalyticsGenerations(clickhouse)
    if name == ANALYTICS and clickhouse is None:
        raise ValueError("analytics is off here (ORDERS_CLICKHOUSE_URL is empty)")
    if name not in targets:
        raise ValueError(f"no rebuild for {name!r}; rebuildable: {', '.join(targets)}")
    return targets[name]
