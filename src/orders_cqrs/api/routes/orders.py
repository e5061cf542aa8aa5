"""Order commands: place, authorize, capture, cancel, ship, deliver, refund, note."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Response

from orders_cqrs.api import examples
from orders_cqrs.api.auth import Checkout, CheckoutOrSupport, Ops, Support, SupportOrOps
from orders_cqrs.api.contract import (
    COMMAND,
    ETAG,
    IDEMPOTENT_REPLAYED,
    LOCATION,
    Responses,
    problem_responses,
    success,
)
from orders_cqrs.api.deps import AuthorizerDep, CancellerDep, ExecutorDep
from orders_cqrs.api.envelope import EnvelopeDep
from orders_cqrs.api.routes.responses import command_response
from orders_cqrs.api.schemas import (
    CancelIn,
    CaptureIn,
    NoteIn,
    OrderOut,
    PlaceOrderIn,
    RefundIn,
    ShipIn,
)
from orders_cqrs.domain import commands
from orders_cqrs.domain.values import Address, Customer

router = APIRouter(prefix="/v1/orders", tags=["orders"])


def place_order_command(body: PlaceOrderIn) -> commands.PlaceOrder:
    """The domain command of a validated ``POST /v1/orders`` body."""
    c, a = body.customer, body.shipping_address
    return commands.PlaceOrder(
        customer=Customer(c.id, c.email, c.name, c.country),
        items=tuple((item.sku, item.quantity) for item in body.items),
        shipping=Address(a.country, a.region, a.city, a.postal_code, a.line1),
        provider=body.payment.provider,
        token=body.payment.token,
    )


UPDATED = "The order after the command."
CREATED = "The order after the command; `Location` is its address."
# Every command on an existing order: no such order, a stale If-Match, a status that forbids it.
ON_AN_ORDER = (*COMMAND, "not-found", "version-conflict", "illegal-transition")


def updated(**extras: Any) -> Responses:
    """The 200 of a command on an order: the order, its ETag, maybe a replay."""
    return success(200, headers=ETAG | IDEMPOTENT_REPLAYED, description=UPDATED, **extras)


def created(**extras: Any) -> Responses:
    """The 201 of a command creating something (an order, a refund, a note)."""
    headers = ETAG | LOCATION | IDEMPOTENT_REPLAYED
    return success(201, headers=headers, description=CREATED, **extras)


def order_command(*kinds: str, create: bool = False) -> dict[str, Any]:
    """The decorator arguments of a command on an order that may also fail with ``kinds``."""
    answer = created() if create else updated()
    return {
        "response_model": OrderOut,
        "responses": answer | problem_responses(*ON_AN_ORDER, *kinds),
    }


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    responses=created(example=examples.PLACED_ORDER)
    | problem_responses(*COMMAND, "unknown-sku", "out-of-stock"),
)
async def place(
    body: Annotated[PlaceOrderIn, Body(openapi_examples=examples.PLACE_ORDER)],
    principal: Checkout,
    envelope: EnvelopeDep,
    executor: ExecutorDep,
) -> Response:
    """Place an order: reserve every line's stock and open the order for payment."""
    ctx = envelope.context("place_order", principal, body)
    command = place_order_command(body)
    return command_response(await executor.execute(command, ctx))


@router.post(
    "/{order_id}/authorize",
    response_model=OrderOut,
    responses=updated(example=examples.AUTHORIZED_ORDER)
    | problem_responses(*ON_AN_ORDER, "payment-timeout"),
)
async def authorize(
    order_id: UUID, principal: Checkout, envelope: EnvelopeDep, authorizer: AuthorizerDep
) -> Response:
    """Authorize the order's total with its payment provider (declines release the stock)."""
    ctx = envelope.context("authorize_payment", principal, None)
    outcome = await authorizer.authorize(commands.AuthorizePayment(order_id), ctx)
    return command_response(outcome)


@router.post("/{order_id}/capture", **order_command("capture-rule"))
async def capture(
    order_id: UUID,
    principal: SupportOrOps,
    envelope: EnvelopeDep,
    executor: ExecutorDep,
    body: Annotated[CaptureIn | None, Body(openapi_examples=examples.CAPTURE)] = None,
) -> Response:
    """Capture the authorized payment: all of it, or ``amount`` (never more than authorized)."""
    amount = body.amount if body is not None else None
    command = commands.CapturePayment(
        order_id,
        amount.amount if amount is not None else None,
        amount.currency if amount is not None else None,
    )
    ctx = envelope.context("capture_payment", principal, body)
    return command_response(await executor.execute(command, ctx))


@router.post("/{order_id}/cancel", **order_command("payment-in-flight"))
async def cancel(
    order_id: UUID,
    principal: CheckoutOrSupport,
    envelope: EnvelopeDep,
    canceller: CancellerDep,
    body: Annotated[CancelIn | None, Body(openapi_examples=examples.CANCEL)] = None,
) -> Response:
    """Cancel an order that is not captured yet; its reserved stock is released and an
    authorization is voided (`payment.state`: `voided`, or `void_pending` until the provider
    confirms). 409 `payment-in-flight` while an authorization is under way."""
    reason = body.reason if body is not None else CancelIn().reason
    ctx = envelope.context("cancel_order", principal, body)
    command = commands.CancelOrder(order_id, reason)
    return command_response(await canceller.cancel(command, ctx))


@router.post("/{order_id}/ship", **order_command())
async def ship(
    order_id: UUID,
    body: Annotated[ShipIn, Body(openapi_examples=examples.SHIP)],
    principal: Ops,
    envelope: EnvelopeDep,
    executor: ExecutorDep,
) -> Response:
    """Record the shipment: carrier and tracking number."""
    command = commands.ShipOrder(order_id, body.carrier, body.tracking_number)
    ctx = envelope.context("ship_order", principal, body)
    return command_response(await executor.execute(command, ctx))


@router.post("/{order_id}/deliver", **order_command())
async def deliver(
    order_id: UUID, principal: Ops, envelope: EnvelopeDep, executor: ExecutorDep
) -> Response:
    """Mark the shipped order delivered."""
    ctx = envelope.context("deliver_order", principal, None)
    command = commands.DeliverOrder(order_id)
    return command_response(await executor.execute(command, ctx))


@router.post("/{order_id}/refunds", status_code=201, **order_command("refund-rule", create=True))
async def refund(
    order_id: UUID,
    body: Annotated[RefundIn, Body(openapi_examples=examples.REFUND)],
    principal: Support,
    envelope: EnvelopeDep,
    executor: ExecutorDep,
) -> Response:
    """Refund part or all of the captured money, within the refund window."""
    command = commands.IssueRefund(order_id, body.amount.amount, body.amount.currency, body.reason)
    ctx = envelope.context("issue_refund", principal, body)
    return command_response(await executor.execute(command, ctx))


@router.post("/{order_id}/notes", status_code=201, **order_command(create=True))
async def add_note(
    order_id: UUID,
    body: Annotated[NoteIn, Body(openapi_examples=examples.NOTE)],
    principal: Support,
    envelope: EnvelopeDep,
    executor: ExecutorDep,
) -> Response:
    """Add a support note to the order."""
    command = commands.AddSupportNote(order_id, body.body)
    ctx = envelope.context("add_support_note", principal, body)
    return command_response(await executor.execute(command, ctx))
