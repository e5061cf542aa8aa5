"""The handler table: every command type mapped to its handler, dependencies bound once."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from orders_cqrs.api.routes.responses import response_shape
from orders_cqrs.config import Settings
from orders_cqrs.domain import commands
from orders_cqrs.domain.risk import RiskPolicy
from orders_cqrs.write import admin_requests
from orders_cqrs.write.executor import Executor, Handlers
from orders_cqrs.write.handlers.admin import (
    close_admin_request,
    open_admin_request,
    release_admin_request,
)
from orders_cqrs.write.handlers.authorize import (
    abandon_payment_attempt,
    record_authorization,
    record_payment_attempt,
    record_payment_timeout,
)
from orders_cqrs.write.handlers.cancel import (
    record_cancellation,
    record_void,
    record_void_timeout,
)
from orders_cqrs.write.handlers.inventory import put_product
from orders_cqrs.write.handlers.lifecycle import (
    capture_payment,
    deliver_order,
    ship_order,
)
from orders_cqrs.write.handlers.place_order import PlacementPolicy, place_order
from orders_cqrs.write.handlers.support import add_support_note, issue_refund
from orders_cqrs.write.payments import steps
from orders_cqrs.write.unit_of_work import UnitOfWorkFactory


def build_handlers(settings: Settings, providers: frozenset[str]) -> Handlers:
    """Every command's handler, by command type, each called as ``(command, uow, ctx)``.

    What a handler needs besides those three (the placement policy, the refund window) is
    bound here, once, from settings.
    """
    placement = PlacementPolicy(
        providers=providers,
        risk=RiskPolicy(
            large_amount_minor=settings.risk_large_amount_minor,
            velocity_max_orders=settings.risk_velocity_max_orders,
        ),
        velocity_window=timedelta(seconds=settings.risk_velocity_window_seconds),
    )
    return {
        commands.PutProduct: put_product,
        commands.PlaceOrder: partial(place_order, policy=placement),
        commands.CapturePayment: capture_payment,
        commands.ShipOrder: ship_order,
        commands.DeliverOrder: deliver_order,
        commands.IssueRefund: partial(
            issue_refund, window=timedelta(days=settings.refund_window_days)
        ),
        commands.AddSupportNote: add_support_note,
        steps.RecordPaymentAttempt: record_payment_attempt,
        steps.RecordAuthorization: record_authorization,
        steps.RecordPaymentTimeout: record_payment_timeout,
        steps.AbandonPaymentAttempt: abandon_payment_attempt,
        steps.RecordCancellation: record_cancellation,
        steps.RecordVoid: record_void,
        steps.RecordVoidTimeout: record_void_timeout,
        admin_requests.OpenAdminRequest: open_admin_request,
        admin_requests.CloseAdminRequest: close_admin_request,
        admin_requests.ReleaseAdminRequest: release_admin_request,
    }


def build_executor(
    settings: Settings, uow_factory: UnitOfWorkFactory, providers: frozenset[str]
) -> Executor:
    """The one way commands run: the handler table, with the API's response shapes."""
    return Executor(
        uow_factory,
        build_handlers(settings, providers),
        response_shape,
        receipt_ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
        receipt_lease=timedelta(seconds=settings.idempotency_lease_seconds),
    )
