"""The projection port: what the engine needs from a read model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from enum import StrEnum

from orders_cqrs.relay.wire import StreamEvent


class Outcome(StrEnum):
    """What applying one event did."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"


class Projection(ABC):
    """A read model fed by the event stream; applying is idempotent and version-guarded."""

    name: str

    @abstractmethod
    async def apply(self, events: Sequence[StreamEvent]) -> list[Outcome]:
        """Apply the events (any order, duplicates allowed); one outcome per event."""
