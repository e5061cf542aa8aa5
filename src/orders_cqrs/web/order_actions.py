"""Refund and cancel from the support order page, each in two steps: review, then confirm.

The review step (``…/refund/review``, ``…/cancel/review``) changes nothing: it reads the order
as committed, checks that it is still the version the page showed, and works out what the
change would do by the order's own rules (``action_preview.py``). Its confirmation form
carries a fresh Idempotency-Key and that version as If-Match. The confirm step runs the same
command, through the same executor (and, for a cancel, the same provider void) as
``POST /v1/orders/{id}/refunds`` and ``…/cancel``, as the signed-in agent. So a second submit
of one confirmation (a double click, a reload) replays the first answer instead of refunding
twice, and a page that another change overtook is refused with the versions named.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError

from orders_cqrs.api.auth import Principal
from orders_cqrs.api.schemas import CancelIn, RefundIn
from orders_cqrs.domain import commands
from orders_cqrs.domain.errors import DomainError, OrderNotFound
from orders_cqrs.domain.order import Order
from orders_cqrs.web.action_forms import (
    DEFAULT_CANCEL_REASON,
    REASON_MAX_CHARS,
    confirmation_key,
    minor_field,
    page_version,
    parse_amount,
    reason_text,
)
from orders_cqrs.web.action_preview import preview_cancel, preview_refund, refusal, stale_message
from orders_cqrs.web.forms import FormError, form_fields
from orders_cqrs.web.guard import Agent, PageRoute, agent_context, container_of
from orders_cqrs.web.render import amount_field, error_page, page
from orders_cqrs.write.context import CommandOutcome

router = APIRouter(prefix="/support", include_in_schema=False, route_class=PageRoute)
Body = TypeVar("Body", bound=BaseModel)


@router.get("/orders/{order_id}/refund")
@router.get("/orders/{order_id}/refund/review")
@router.get("/orders/{order_id}/cancel")
@router.get("/orders/{order_id}/cancel/review")
async def action_address(order_id: UUID, agent: Agent) -> Response:
    """Refunds and cancels start on the order page (a reload of a review lands there too)."""
    return RedirectResponse(f"/support/orders/{order_id}", status_code=303)


@router.post("/orders/{order_id}/refund/review")
async def review_refund(request: Request, order_id: UUID, agent: Agent) -> Response:
    """Show what the refund would do, and the confirmation that carries it out."""
    fields = await form_fields(request)
    order = await _committed(request, order_id)
    if order is None:
        return _no_such_order(request, order_id, agent)
    draft = {"amount": fields.get("amount", "")[:40], "reason": fields.get("reason", "")}
    view = _View(request, agent, order, "refund", draft)
    try:
        seen = page_version(fields.get("version"))
        reason = reason_text(fields.get("reason"), required=True)
        amount = parse_amount(fields.get("amount"), order.currency)
    except FormError as error:
        return view.render(422, form_error=str(error))
    if seen != order.version:
        return view.stale(seen)
    try:
        preview = preview_refund(
            order, amount=amount, reason=reason, window=_window(request), now=datetime.now(UTC)
        )
    except DomainError as error:
        return view.refused(refusal(error, order, amount))
    return view.render(200, preview=preview, key=str(uuid4()))


@router.post("/orders/{order_id}/refund")
async def confirm_refund(request: Request, order_id: UUID, agent: Agent) -> Response:
    """Run IssueRefund as the API does, under the confirmation's key and If-Match."""
    fields = await form_fields(request)
    try:
        key = confirmation_key(fields.get("idempotency_key"))
        seen = page_version(fields.get("if_match"))
        amount = minor_field(fields.get("amount_minor"))
        reason = reason_text(fields.get("reason"), required=True)
        body = _valid(
            RefundIn,
            {"amount": {"amount": amount, "currency": fields.get("currency")}, "reason": reason},
        )
    except FormError as error:
        return error_page(request, 400, "Refund not made", str(error), agent=agent)
    command = commands.IssueRefund(order_id, amount, body.amount.currency, reason)
    ctx = agent_context(request, agent, "issue_refund", body, key, if_match=seen)
    try:
        outcome = await container_of(request).executor.execute(command, ctx)
    except OrderNotFound:
        return _no_such_order(request, order_id, agent)
    except DomainError as error:
        return await _refused_on_confirm(request, agent, order_id, "refund", error, amount)
    done = {"amount": amount, "reason": reason}
    return _done(request, agent, "refund", outcome, done)


@router.post("/orders/{order_id}/cancel/review")
async def review_cancel(request: Request, order_id: UUID, agent: Agent) -> Response:
    """Show what the cancel would release and void, and the confirmation that does it."""
    fields = await form_fields(request)
    order = await _committed(request, order_id)
    if order is None:
        return _no_such_order(request, order_id, agent)
    view = _View(request, agent, order, "cancel", {"reason": fields.get("reason", "")})
    try:
        seen = page_version(fields.get("version"))
        reason = reason_text(fields.get("reason"), required=False, default=DEFAULT_CANCEL_REASON)
    except FormError as error:
        return view.render(422, form_error=str(error))
    if seen != order.version:
        return view.stale(seen)
    try:
        preview = preview_cancel(order, reason=reason, now=datetime.now(UTC))
    except DomainError as error:
        return view.refused(refusal(error, order))
    return view.render(200, preview=preview, key=str(uuid4()))


@router.post("/orders/{order_id}/cancel")
async def confirm_cancel(request: Request, order_id: UUID, agent: Agent) -> Response:
    """Run CancelOrder as the API does (releasing stock, voiding a hold with the provider)."""
    fields = await form_fields(request)
    try:
        key = confirmation_key(fields.get("idempotency_key"))
        seen = page_version(fields.get("if_match"))
        reason = reason_text(fields.get("reason"), required=False, default=DEFAULT_CANCEL_REASON)
        body = _valid(CancelIn, {"reason": reason})
    except FormError as error:
        return error_page(request, 400, "Order not cancelled", str(error), agent=agent)
    ctx = agent_context(request, agent, "cancel_order", body, key, if_match=seen)
    try:
        outcome = await container_of(request).canceller.cancel(
            commands.CancelOrder(order_id, body.reason), ctx
        )
    except OrderNotFound:
        return _no_such_order(request, order_id, agent)
    except DomainError as error:
        return await _refused_on_confirm(request, agent, order_id, "cancel", error)
    return _done(request, agent, "cancel", outcome, {"reason": body.reason})


class _View:
    """The review page of one action on one order, in its three outcomes."""

    def __init__(
        self, request: Request, agent: Principal, order: Order, action: str, draft: dict[str, str]
    ) -> None:
        self.request, self.agent, self.order, self.action = request, agent, order, action
        self.draft = draft

    def render(self, status_code: int, **extra: Any) -> Response:
        order = self.order
        context: dict[str, Any] = {
            "agent": self.agent,
            "action": self.action,
            "order": order.snapshot(),
            "refundable": order.refundable,
            "refundable_text": amount_field(order.refundable, order.currency),
            "draft": self.draft,
            "reason_max": REASON_MAX_CHARS,
            "preview": None,
            "problem": None,
            "form_error": None,
            **extra,
        }
        return page(self.request, "order_action_review.html", context, status_code=status_code)

    def stale(self, seen: int) -> Response:
        """The page showed an older version: say so, and offer the order as it is now."""
        message = stale_message(seen, self.order.version)
        problem = {"kind": "version-conflict", "status": 412, "message": message}
        return self.render(412, problem=problem, stale=True)

    def refused(self, problem: dict[str, Any]) -> Response:
        return self.render(int(problem["status"]), problem=problem)


async def _refused_on_confirm(
    request: Request,
    agent: Principal,
    order_id: UUID,
    action: str,
    error: DomainError,
    amount: int | None = None,
) -> Response:
    """The command refused: the problem, over the order as it is now (nothing was changed)."""
    order = await _committed(request, order_id)
    if order is None:
        return _no_such_order(request, order_id, agent)
    problem = refusal(error, order, amount)
    draft = {"reason": ""}
    if amount is not None:
        draft["amount"] = amount_field(amount, order.currency)
    view = _View(request, agent, order, action, draft)
    stale = problem["kind"] == "version-conflict"
    return view.render(int(problem["status"]), problem=problem, stale=stale)


def _done(
    request: Request, agent: Principal, action: str, outcome: CommandOutcome, done: dict[str, Any]
) -> Response:
    """The result: what changed and the order's new version (the stored one, on a replay)."""
    order = json.loads(outcome.body)
    payment = order["payment"]
    context = {
        "agent": agent,
        "action": action,
        "order": order,
        "done": done,
        "replayed": outcome.replayed,
        "refundable": payment["captured"] - payment["refunded"],
    }
    return page(request, "order_action_done.html", context)


async def _committed(request: Request, order_id: UUID) -> Order | None:
    """The order as last committed in the write model (the summary may lag it)."""
    async with container_of(request).executor.uow_factory() as uow:
        return await uow.orders.get(order_id)


def _window(request: Request) -> timedelta:
    return timedelta(days=container_of(request).settings.refund_window_days)


def _valid(model: type[Body], data: dict[str, Any]) -> Body:
    """The API's body model of the command, so the command sees what the API would pass."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise FormError("The confirmation form is damaged. Review the change again.") from error


def _no_such_order(request: Request, order_id: UUID, agent: Principal) -> Response:
    detail = f"No order {order_id} is known to the write model."
    return error_page(request, 404, "Order not found", detail, agent=agent)
