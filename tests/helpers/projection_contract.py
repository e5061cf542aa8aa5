"""Invariant 7 as one contract, run against every read model (summary, search, analytics).

Delivery is at least once and may be out of order, so every projection must treat a
duplicate as a no-op and never let an older aggregate version overwrite newer read state,
whatever the batching. ``ProjectionContract`` states that once; a ``Test…`` subclass per read
model supplies a projection writing into its real store and a way to read an order back, as
pyeventsourcing runs one recorder contract against every backend.
"""

from __future__ import annotations

import dataclasses
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders_cqrs.readmodels.port import Outcome, Projection
from orders_cqrs.relay.wire import StreamEvent
from tests.helpers.events import MAX_VERSIONS, STATUSES, order_history

APPLIED, DUPLICATE = Outcome.APPLIED, Outcome.DUPLICATE


@dataclass(frozen=True)
class Stored:
    """What a read model holds for one order, as its readers see it."""

    version: int
    status: str
    last_event_id: str
    projected_at: str  # the wall clock of the write that produced it
    record: dict[str, Any]  # everything else the model keeps of the order, minus wall clocks


@dataclass(frozen=True)
class Delivery:
    """How a history of ``versions`` events is delivered: indexes into it, cut into batches."""

    versions: int
    batches: list[list[int]]


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    """Every version at least once, some more than once, shuffled, in random batches."""
    versions = draw(st.integers(1, MAX_VERSIONS))
    extra = draw(st.lists(st.integers(0, versions - 1), max_size=12))
    shuffled = draw(st.permutations(list(range(versions)) + extra))
    cuts = sorted(draw(st.lists(st.integers(0, len(shuffled)), max_size=5)))
    batches, start = [], 0
    for cut in [*cuts, len(shuffled)]:
        if cut > start:
            batches.append(shuffled[start:cut])
            start = cut
    return Delivery(versions, batches)


def kept(newer: dict[str, Any], now: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The values of the newer state that are gone now (a late event may only fill gaps)."""
    return {k: (v, now.get(k)) for k, v in newer.items() if v is not None and now.get(k) != v}


class ProjectionContract(ABC):
    """What every projection must do with duplicated, reordered and re-batched deliveries."""

    # What the store answers for a version older than the stored one. OpenSearch's external
    # versioning refuses both with the same 409, so the search projection says DUPLICATE.
    older: ClassVar[Outcome] = Outcome.STALE

    @abstractmethod
    async def empty_projection(self) -> Projection:
        """The read model's projection, writing into an empty store that ``stored`` reads."""

    @abstractmethod
    async def stored(self, order_id: uuid.UUID) -> Stored | None:
        """What the store holds for the order now; None when it never saw the order."""

    async def _stored(self, order_id: uuid.UUID) -> Stored:
        found = await self.stored(order_id)
        assert found is not None, f"{order_id} is not in the read model"
        return found

    async def _apply(
        self, projection: Projection, *batches: Sequence[StreamEvent]
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for batch in batches:
            got = await projection.apply(batch)
            assert len(got) == len(batch), (got, batch)
            outcomes += got
        return outcomes

    def _assert_at(self, stored: Stored, event: StreamEvent) -> None:
        """The stored state is the one ``event`` carried."""
        version = event.aggregate_version
        assert (stored.version, stored.status, stored.last_event_id) == (
            version,
            STATUSES[version - 1],
            str(event.event_id),
        ), stored

    async def test_a_duplicate_delivery_is_a_no_op(self) -> None:
        projection = await self.empty_projection()
        order_id = uuid.uuid4()
        v1, v2, v3 = order_history(order_id, 3)
        assert await self._apply(projection, [v1, v2, v3]) == [APPLIED] * 3
        before = await self._stored(order_id)

        assert await self._apply(projection, [v3]) == [DUPLICATE]
        assert await self._apply(projection, [v3], [v3]) == [DUPLICATE, DUPLICATE]

        assert await self._stored(order_id) == before  # not even rewritten: same projected_at
        self._assert_at(before, v3)

    async def test_an_older_version_after_a_newer_one_never_overwrites_it(self) -> None:
        projection = await self.empty_projection()
        order_id = uuid.uuid4()
        v1, v2, v3, v4 = order_history(order_id, 4)
        assert await self._apply(projection, [v4]) == [APPLIED]
        newest = await self._stored(order_id)

        assert await self._apply(projection, [v1], [v3], [v2]) == [self.older] * 3

        now = await self._stored(order_id)
        self._assert_at(now, v4)
        assert kept(newest.record, now.record) == {}

    async def test_reapplying_a_whole_batch_changes_nothing(self) -> None:
        projection = await self.empty_projection()
        order_id = uuid.uuid4()
        events = order_history(order_id, 5)
        assert await self._apply(projection, events) == [APPLIED] * 5
        before = await self._stored(order_id)

        again = await self._apply(projection, events)

        assert again == [self.older] * 4 + [DUPLICATE]
        assert await self._stored(order_id) == before
        self._assert_at(before, events[-1])

    async def test_a_later_version_of_an_order_never_seen_is_applied_as_it_comes(self) -> None:
        projection = await self.empty_projection()
        order_id = uuid.uuid4()
        *earlier, latest = order_history(order_id, 6)
        assert await self.stored(order_id) is None

        assert await self._apply(projection, [latest]) == [APPLIED]
        first = await self._stored(order_id)
        self._assert_at(first, latest)

        # The versions it skipped arrive afterwards: none of them takes the order back.
        assert await self._apply(projection, earlier) == [self.older] * len(earlier)
        now = await self._stored(order_id)
        self._assert_at(now, latest)
        assert kept(first.record, now.record) == {}

    async def test_inside_one_batch_the_newest_version_wins_whatever_the_order(self) -> None:
        projection = await self.empty_projection()
        order_id = uuid.uuid4()
        v1, v2, v3, v4 = order_history(order_id, 4)

        first = await self._apply(projection, [v1, v3, v2, v3, v1])
        assert first == [APPLIED, APPLIED, self.older, DUPLICATE, self.older]
        self._assert_at(await self._stored(order_id), v3)

        second = await self._apply(projection, [v4, v4, v2])
        assert second == [APPLIED, DUPLICATE, self.older]
        self._assert_at(await self._stored(order_id), v4)

    async def test_each_order_is_guarded_by_its_own_version(self) -> None:
        projection = await self.empty_projection()
        ada, grace = uuid.uuid4(), uuid.uuid4()
        a1, a2, a3 = order_history(ada, 3)
        g1, g2 = order_history(grace, 2)

        outcomes = await self._apply(projection, [a3, g1, a1], [g2, a2])

        # Grace's version 1 is new for Grace, however new Ada's order already is.
        assert outcomes == [APPLIED, APPLIED, self.older, APPLIED, self.older]
        self._assert_at(await self._stored(ada), a3)
        self._assert_at(await self._stored(grace), g2)

    # Each read model's subclass runs this one method: differing executors are the point.
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(case=deliveries())
    async def test_any_delivery_order_with_duplicates_ends_in_the_in_order_state(
        self, case: Delivery
    ) -> None:
        order_id = uuid.uuid4()
        events = order_history(order_id, case.versions)
        batches = [[events[i] for i in batch] for batch in case.batches]
        await self._apply(await self.empty_projection(), events)
        in_order = await self._stored(order_id)

        outcomes = await self._apply(await self.empty_projection(), *batches)

        delivered = await self._stored(order_id)
        assert dataclasses.replace(delivered, projected_at="") == dataclasses.replace(
            in_order, projected_at=""
        )
        self._assert_at(delivered, events[-1])
        # Exactly the events newer than everything delivered before them were applied.
        newest = 0
        for event, outcome in zip([e for b in batches for e in b], outcomes, strict=True):
            if event.aggregate_version > newest:
                assert outcome is APPLIED, (event.aggregate_version, newest, outcomes)
                newest = event.aggregate_version
            else:
                assert outcome is not APPLIED, (event.aggregate_version, outcomes)
