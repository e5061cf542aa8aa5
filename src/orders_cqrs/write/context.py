"""What every command carries besides its own fields, and what its handler answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

import orjson

from orders_cqrs.domain.errors import DomainError
from orders_cqrs.domain.events import OrderEvent

T = TypeVar("T")


@dataclass
class Trail:
    """What a request's handlers learned of the order they loaded: the rejection's audit row
    needs it, and an accepted answer reports the version found there as its version before."""

    order_id: UUID | None = None
    version_before: int | None = None


@dataclass(frozen=True, slots=True)
class CommandContext:
    """The envelope of one command request.

    ``trail`` belongs to the request, not to one transaction: an authorization runs as
    several executor steps, and a provider timeout is audited against the order and version
    that its first step found. Handlers note what they learn there, the executor reads it
    when it audits a refusal; so every handler has the same ``(command, uow, ctx)`` shape
    instead of taking an out-only argument that only refusals need.
    """

    command: str
    actor: str
    client_id: str
    idempotency_key: str
    fingerprint: str
    if_match: int | None = None
    traceparent: str | None = None
    # A person's name and email when one sent the command from a console (``actor`` is then
    # ``staff:<id>``); kept in the audit row and every event's headers as they were then.
    actor_name: str | None = None
    actor_email: str | None = None
    command_id: UUID = field(default_factory=uuid4)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    trail: Trail = field(default_factory=Trail, compare=False, repr=False)

    def event_headers(self) -> dict[str, Any]:
        """Headers every outbox row of this command carries."""
        headers: dict[str, Any] = {
            "command_id": str(self.command_id),
            "command": self.command,
            "actor": self.actor,
        }
        if self.actor_name is not None:
            headers["actor_name"] = self.actor_name
        if self.actor_email is not None:
            headers["actor_email"] = self.actor_email
        if self.traceparent is not None:
            headers["traceparent"] = self.traceparent
        return headers


@dataclass(frozen=True, slots=True)
class Accepted:
    """A handler's answer that completes the request: the response body, the audit facts, and
    the events to append. How it looks over HTTP (status code, headers) is the API's choice."""

    body: dict[str, Any]
    order_id: UUID | None
    version_before: int | None
    version_after: int | None
    events: list[OrderEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Refused:
    """A refusal that keeps what the handler wrote (a finished payment attempt, a receipt set
    free): the executor commits it, then audits and raises ``error`` like any refusal. A
    handler with nothing to keep raises its ``DomainError`` instead, and everything rolls back."""

    error: DomainError


@dataclass(frozen=True, slots=True)
class Continued(Generic[T]):
    """A step's answer: commit, leave the request's receipt in progress, hand ``value`` back.

    ``events``: what the step already changed of the order (a cancel, before its hold is
    voided), appended with an audit row in the step's transaction; the request's last step
    completes the receipt."""

    value: T
    events: list[OrderEvent] = field(default_factory=list)


Answer = Accepted | Refused | Continued[Any]


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
