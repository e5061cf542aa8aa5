"""Freshness: how current a read is, carried by every read response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Freshness:
    """The source version a read model holds, the event that wrote it, and when."""

    source_version: int
    last_event_id: str
    projected_at: str
    # When that event committed in PostgreSQL (None in records written before it was kept):
    # ``projected_at − committed_at`` is how far behind the write model this read was.
    committed_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Wire shape, with the age of the projection write in seconds."""
        age = (datetime.now(UTC) - datetime.fromisoformat(self.projected_at)).total_seconds()
        return {
            "source_version": self.source_version,
            "last_event_id": self.last_event_id,
            "committed_at": self.committed_at,
            "projected_at": self.projected_at,
            "age_seconds": round(max(age, 0.0), 3),
        }


class NotYetProjected(Exception):
    """The read model is behind the version the client asked for (or has not the order yet)."""

    def __init__(self, wanted: int | None, have: int | None) -> None:
        super().__init__(f"projection holds version {have}, the request needs {wanted}")
        self.wanted = wanted
        self.have = have
