"""Set-ups the rebuild lease suites share: a search pipeline with history, a lease held here.

A rebuild is only worth testing against a projection that has something to rebuild, and a
lease only against a rival that holds it; both take several steps that would otherwise be
copied from suite to suite and drift apart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from orders_cqrs.bootstrap import Container, open_container
from orders_cqrs.config import Settings
from orders_cqrs.db.rebuilds import RebuildLease
from tests.helpers.processes import ApiServer, Worker
from tests.helpers.search import reset_search_state, wait_for_support_index
from tests.helpers.seeding import seed_orders
from tests.helpers.stores import TEST_REDIS_URL


def search_pipeline_with_orders(
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    database_url: str,
    *,
    alias: str,
    orders: int,
    relay: dict[str, str] | None = None,
) -> tuple[ApiServer, Worker]:
    """An API, a relay and a search projector on ``alias``, then ``orders`` orders; the API
    and the relay.

    The projector has created its index before the orders are placed, so they reach it
    through the stream, as in production, not through a backfill. ``relay`` adds settings
    of the relay's own (it runs on ``alias`` in any case).
    """
    search = {"search_alias": alias}
    reset_search_state(alias)
    api = start_api(**search)
    relay_worker = start_worker("relay", **{**search, **(relay or {})})
    wait_for_support_index(start_worker("project", "search", **search), alias=alias)
    seed_orders(database_url, orders)
    return api, relay_worker


@asynccontextmanager
async def rebuild_lease_held(
    database_url: str, projection: str, started_by: str
) -> AsyncIterator[tuple[Container, RebuildLease]]:
    """Hold ``projection``'s rebuild lease in this process for the block, as a rebuild running
    in another process would; the container it was taken with comes along."""
    settings = Settings(
        environment="test", database_url=database_url, redis_url=TEST_REDIS_URL, clickhouse_url=""
    )
    async with open_container(settings) as container:
        lease = await container.rebuilds.acquire(projection, started_by)
        assert lease is not None, f"the {projection} rebuild lease is held elsewhere"
        async with lease:
            yield container, lease
