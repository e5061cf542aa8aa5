"""Events: past tense, versioned, state-transfer (the order snapshot plus the facts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

SCHEMA_VERSION = 1


class EventType(StrEnum):
    """Every event an order can emit; one per accepted command."""

    ORDER_PLACED = "OrderPlaced"
    PAYMENT_AUTHORIZED = "PaymentAuthorized"
    PAYMENT_DECLINED = "PaymentDeclined"
    PAYMENT_CAPTURED = "PaymentCaptured"
    PAYMENT_VOIDED = "PaymentVoided"
    ORDER_CANCELLED = "OrderCancelled"
    ORDER_SHIPPED = "OrderShipped"
    ORDER_DELIVERED = "OrderDelivered"
    REFUND_ISSUED = "RefundIssued"
    SUPPORT_NOTE_ADDED = "SupportNoteAdded"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One accepted change of an order, at the version it produced."""

    type: EventType
    aggregate_id: UUID
    aggregate_version: int
    snapshot: dict[str, Any]
    facts: dict[str, Any]
    event_id: UUID = field(default_factory=uuid4)
    schema_version: int = SCHEMA_VERSION

    def to_payload(self) -> dict[str, Any]:
        """What the outbox stores: enough for any projector to upsert "latest version wins"."""
        return {"order": self.snapshot, "facts": self.facts}
