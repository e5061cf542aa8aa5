"""The wire format of an outbox event on the Redis stream, shared by the relay and projectors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One outbox row as projectors see it."""

    event_id: UUID
    position: int
    aggregate_id: UUID
    aggregate_version: int
    event_type: str
    schema_version: int
    occurred_at: datetime
    headers: dict[str, Any]
    payload: dict[str, Any]
    stream_id: str = ""

    def to_fields(self) -> dict[str, str]:
        """Flat string fields for XADD."""
        return {
            "event_id": str(self.event_id),
            "position": str(self.position),
            "aggregate_id": str(self.aggregate_id),
            "aggregate_version": str(self.aggregate_version),
            "event_type": self.event_type,
            "schema_version": str(self.schema_version),
            "occurred_at": self.occurred_at.isoformat(),
            "headers": json.dumps(self.headers, separators=(",", ":")),
            "payload": json.dumps(self.payload, separators=(",", ":")),
        }

    @classmethod
    def from_fields(cls, stream_id: str, fields: dict[str, str]) -> StreamEvent:
        """Parse an XREADGROUP entry; raises ValueError/KeyError on a malformed one."""
        return cls(
            event_id=UUID(fields["event_id"]),
            position=int(fields["position"]),
            aggregate_id=UUID(fields["aggregate_id"]),
            aggregate_version=int(fields["aggregate_version"]),
            event_type=fields["event_type"],
            schema_version=int(fields["schema_version"]),
            occurred_at=datetime.fromisoformat(fields["occurred_at"]),
            headers=json.loads(fields["headers"]),
            payload=json.loads(fields["payload"]),
            stream_id=stream_id,
        )

    def to_entry(self) -> dict[str, Any]:
        """JSON-ready form, for the dead-letter table."""
        return {"stream_id": self.stream_id, **self.to_fields()}
