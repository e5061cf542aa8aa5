"""Apply a batch so that one event the read store refuses costs only that event.

A rebuild applies the outbox in large batches; one document the store rejects (a mapping
conflict, a payload the projection cannot read) must not abort it. A refused batch is split
in halves until the refused events stand alone: with k bad events among n that is about
``2·k·log2(n)`` calls instead of ``n``, so a batch of 5,000 with one bad event costs some
two dozen extra calls, not 5,000. A lone event that is still refused is tried again a few
times (with the live projector's backoff) and then parked as a dead letter under the
projection's name, where ``GET /v1/projections/{name}/dead-letters`` lists it and a replay
applies it to whichever generation is live by then.

Re-applying the halves that had already been applied is safe: projections are idempotent and
version-guarded, so a second write of an event is a duplicate, never a regression.

``StoreUnavailable`` (the store is down, not the document wrong) is never isolated: it
propagates and fails the rebuild as a whole, because parking an outage would park everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.failures.backoff import doubling
from orders_cqrs.failures.stores import StoreUnavailable
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.relay.wire import StreamEvent

log = structlog.get_logger(__name__)


class IsolatingApplier:
    """Applies batches of a rebuild; counts the events it dead-lettered."""

    def __init__(
        self,
        projection: Projection,
        dead_letters: DeadLetterRepository,
        *,
        max_attempts: int,
        retry_base_seconds: float,
    ) -> None:
        self.projection = projection
        self.dead_letters = dead_letters
        self.max_attempts = max(1, max_attempts)
        self.retry_base_seconds = retry_base_seconds
        self.dead_lettered = 0

    async def apply(self, events: Sequence[StreamEvent]) -> None:
        """Apply ``events``; refused ones are parked, an unavailable store raises."""
        if not events:
            return
        try:
            await self.projection.apply(events)
        except StoreUnavailable:
            raise
        except Exception as error:
            if len(events) == 1:
                await self._retry_or_park(events[0], error)
                return
            log.warning(
                "rebuild_batch_refused",
                projection=self.projection.name,
                events=len(events),
                error=repr(error)[:500],
            )
            middle = len(events) // 2
            # In order: a later event of an order must not land before an earlier one could.
            # (The version guard would make either order right; in order is simply cheaper.)
            await self.apply(events[:middle])
            await self.apply(events[middle:])

    async def _retry_or_park(self, event: StreamEvent, error: Exception) -> None:
        attempt = 1
        while attempt < self.max_attempts:
            await asyncio.sleep(doubling(attempt - 1, base=self.retry_base_seconds))
            attempt += 1
            try:
                await self.projection.apply([event])
                return
            except StoreUnavailable:
                raise
            except Exception as again:
                error = again
        await self.dead_letters.park(self.projection.name, event, repr(error), attempt)
        self.dead_lettered += 1
        log.error(
            "rebuild_dead_letter",
            projection=self.projection.name,
            event_id=str(event.event_id),
            error=repr(error)[:500],
        )
