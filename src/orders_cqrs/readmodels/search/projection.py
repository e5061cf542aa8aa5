"""The OpenSearch support index projection: bulk writes with external versioning.

``version_type=external`` with the aggregate version makes OpenSearch itself refuse a write
whose version is not greater than the stored one: a duplicate or an older event is a 409 on
that item, counted as a duplicate, never as an error. The dedupe check and the write are one
operation inside the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import ConnectionTimeout, TransportError

from orders_cqrs.failures.stores import StoreUnavailable
from orders_cqrs.readmodels.port import Outcome, Projection
from orders_cqrs.readmodels.search.index import IndexNames, document
from orders_cqrs.relay.wire import StreamEvent


class DocumentRejected(Exception):
    """OpenSearch refused a document for a reason a retry cannot fix (e.g. a mapping conflict)."""


def is_unavailable(error: Exception) -> bool:
    """Connection trouble, timeouts, 429 and 5xx: the store, not the event, is the problem."""
    if isinstance(error, OSConnectionError | ConnectionTimeout | OSError):
        return True
    status = getattr(error, "status_code", None)
    return (
        isinstance(error, TransportError)
        and isinstance(status, int)
        and (status == 429 or status >= 500)
    )


class SearchIndexConflict(RuntimeError):
    """The support index's alias cannot be created: an index stands where it should be."""


async def ensure_index(client: AsyncOpenSearch, names: IndexNames | None = None) -> None:
    """Install the template and, on a fresh cluster, the first index behind the alias."""
    names = names or IndexNames()
    await client.indices.put_index_template(name=names.template_name, body=names.template())
    if not await client.indices.exists_alias(name=names.alias):
        # 400 when another projector created it first: that one's alias serves us too.
        await client.indices.create(
            index=f"{names.prefix}1", body={"aliases": {names.alias: {}}}, ignore=400
        )
        if not await client.indices.exists_alias(name=names.alias):
            # A concrete index took the alias's name (OpenSearch auto-creates one when a
            # document is written to a missing alias): writing on would feed an index no
            # rebuild or reader manages. Say so instead.
            raise SearchIndexConflict(
                f"no alias {names.alias}: an index of that name (or {names.prefix}1 without"
                " the alias) is in the way; delete it, then start the projector again"
            )


class SearchProjection(Projection):
    """Feeds the support index (through the alias, or a named index during a rebuild)."""

    name = "search"

    def __init__(self, client: AsyncOpenSearch, *, index: str | None = None) -> None:
        self.client = client
        self.index = index or IndexNames().alias

    async def apply(self, events: Sequence[StreamEvent]) -> list[Outcome]:
        """One bulk request; each item succeeds, is refused as old/duplicate, or fails."""
        projected_at = datetime.now(UTC).isoformat()
        body: list[dict[str, Any]] = []
        for event in events:
            body.append(
                {
                    "index": {
                        "_index": self.index,
                        "_id": str(event.aggregate_id),
                        "version": event.aggregate_version,
                        "version_type": "external",
                    }
                }
            )
            body.append(
                document(
                    event.payload["order"],
                    last_event_id=str(event.event_id),
                    projected_at=projected_at,
                )
            )
        try:
            response = await self.client.bulk(body=body)
        except Exception as error:
            if is_unavailable(error):
                raise StoreUnavailable(repr(error)) from error
            raise
        outcomes: list[Outcome] = []
        failures: list[str] = []
        for item in response["items"]:
            result = item["index"]
            status = int(result["status"])
            if status in (200, 201):
                outcomes.append(Outcome.APPLIED)
            elif status == 409:
                outcomes.append(Outcome.DUPLICATE)
            elif status == 429 or status >= 500:
                raise StoreUnavailable(f"bulk item status {status}")
            else:
                failures.append(f"{result.get('_id')}: {status} {result.get('error')}")
        if failures:
            # Applied items stay applied (re-applying them is a 409 no-op); the engine
            # retries event by event and parks the ones that keep failing.
            raise DocumentRejected("; ".join(failures)[:2000])
        return outcomes
