"""An order's history: what happened to it, when, by whom, and what it refused."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from orders_cqrs.api.auth import SupportOrOps
from orders_cqrs.api.contract import READ, problem_responses
from orders_cqrs.api.deps import HistoryDep
from orders_cqrs.domain.errors import OrderNotFound

router = APIRouter(tags=["reads"])


class HistoryEntryView(BaseModel):
    """An event the order went through, or a command it refused (which changed nothing)."""

    kind: Literal["event", "refused"]
    at: datetime = Field(description="When it was committed (event) or refused (audit row).")
    version: int | None = Field(
        description="The event's version; for a refusal, the version it was refused at."
    )
    actor: str | None = Field(
        description="Who sent the command: an API client (`support:<hex>`) or a staff"
        " account (`staff:<id>`)."
    )
    actor_name: str | None = Field(
        default=None, description="A staff member's name, as it was when they acted."
    )
    actor_email: str | None = Field(
        default=None, description="A staff member's email, as it was when they acted."
    )
    command: str | None
    command_id: str | None
    event_type: str | None = Field(default=None, description="Events only.")
    event_id: str | None = Field(default=None, description="Events only.")
    reason: str | None = Field(default=None, description="Refusals only: why.")
    problem_type: str | None = Field(default=None, description="Refusals only: the problem type.")


class OrderHistoryView(BaseModel):
    """Every event of the order and every refused command, oldest first."""

    order_id: UUID
    entries: list[HistoryEntryView]


@router.get(
    "/v1/orders/{order_id}/history",
    response_model=OrderHistoryView,
    responses=problem_responses(*READ, "store-busy", "not-found"),
)
async def order_history(
    order_id: UUID, principal: SupportOrOps, history: HistoryDep
) -> OrderHistoryView:
    """The order's history from the write side (event log and audit log), oldest first."""
    entries = await history.of(order_id)
    if entries is None:
        raise OrderNotFound(f"no order {order_id}")
    return OrderHistoryView(
        order_id=order_id,
        entries=[HistoryEntryView.model_validate(entry.to_dict()) for entry in entries],
    )
