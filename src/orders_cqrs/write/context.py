"""What every command carries besides its own fields: who, which key, which version."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson


@dataclass(frozen=True, slots=True)
class CommandContext:
    """The envelope of one command request."""

    command: str
    actor: str
    client_id: str
    idempotency_key: str
    fingerprint: str
    if_match: int | None = None
    traceparent: str | None = None
    command_id: UUID = field(default_factory=uuid4)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def event_headers(self) -> dict[str, Any]:
        """Headers every outbox row of this command carries."""
        headers: dict[str, Any] = {
            "command_id": str(self.command_id),
            "command": self.command,
            "actor": self.actor,
        }
        if self.traceparent is not None:
            headers["traceparent"] = self.traceparent
        return headers


@dataclass
class Trail:
    """What a handler learned before it was refused, for the rejection's audit row."""

    order_id: UUID | None = None
    version_before: int | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """A handler's answer for an accepted command: the response (status, body, headers) and
    the versions its audit row records."""

    status_code: int
    body: dict[str, Any]
    order_id: UUID | None
    version_before: int | None
    version_after: int | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What the client gets: status, exact body bytes, headers, and whether it is a replay."""

    status_code: int
    body: bytes
    headers: dict[str, str]
    replayed: bool = False


def render(body: dict[str, Any]) -> bytes:
    """The canonical bytes of a response body (stored in receipts, replayed as is): compact
    UTF-8 JSON, as ``json.dumps(separators=(",", ":"), ensure_ascii=False)`` would write it."""
    return orjson.dumps(body)
