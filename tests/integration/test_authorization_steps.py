"""Authorization runs as executor steps around the provider call (§3), in-process on the real
database: the timeout, the reconciler's finish, a cancel refused while the provider decides and an
attempt the provider never saw all leave the executor's audit rows and metrics, and the
writes each step must keep."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY

from orders_cqrs.bootstrap import Container, open_container
from orders_cqrs.config import Settings
from orders_cqrs.domain import commands
from orders_cqrs.domain.values import Address, Customer
from orders_cqrs.write.context import CommandContext, CommandOutcome
from orders_cqrs.write.errors import PaymentInFlight, PaymentTimeout
from orders_cqrs.write.payments.authorization import authorize_payment
from orders_cqrs.write.payments.port import AuthorizationRequest, AuthorizationResult
from orders_cqrs.write.payments.reconciler import reconcile
from orders_cqrs.write.payments.sandbox import SandboxGateway

SKU = "SKU-STEPS"
CLIENT = "checkout:steps"
AUTHORIZE = "authorize_payment"


class ForgetfulProvider(SandboxGateway):
    """A provider whose records lost the call: it knows nothing of any attempt."""

    async def retrieve(self, request: AuthorizationRequest) -> AuthorizationResult | None:
        return None


def _ctx(command: str, key: str) -> CommandContext:
    return CommandContext(
        command=command, actor=CLIENT, client_id=CLIENT, idempotency_key=key, fingerprint=key
    )


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _counts() -> dict[str, float]:
    return {
        "accepted": _count("orders_commands_total", command=AUTHORIZE, outcome="accepted"),
        "rejected": _count("orders_commands_total", command=AUTHORIZE, outcome="rejected"),
        "timed": sum(
            _count("orders_command_duration_seconds_count", command=AUTHORIZE, outcome=outcome)
            for outcome in ("accepted", "rejected")
        ),
        "outbox": _count("orders_outbox_rows_written_total", command=AUTHORIZE),
        "replays": _count("orders_idempotent_replays_total", command=AUTHORIZE),
        "timeouts": _count(
            "orders_payment_provider_calls_total", provider="sandbox-card", result="timeout"
        ),
    }


def _moved(before: dict[str, float]) -> dict[str, float]:
    """The counters that changed since ``before``, by how much."""
    return {
        name: value - before[name] for name, value in _counts().items() if value != before[name]
    }


@pytest.fixture
async def container(db: psycopg.Connection[Any], database_url: str) -> AsyncIterator[Container]:
    settings = Settings(
        database_url=database_url,
        clickhouse_url="",
        payment_timeout_seconds=1.0,
        payment_slow_seconds=0.4,
    )
    async with open_container(settings, commands=True) as opened:
        yield opened


async def _placed(container: Container, token: str) -> uuid.UUID:
    put = commands.PutProduct(SKU, "Mug", 1500, "EUR", 5)
    await container.executor.execute(put, _ctx("put_product", f"put-{token}"))
    customer = Customer(uuid.uuid4(), "ada@example.com", "Ada Lovelace", "DE")
    address = Address("DE", "Berlin", "Berlin", "10115", "Invalidenstr. 1")
    place = commands.PlaceOrder(customer, ((SKU, 2),), address, "sandbox-card", token)
    placed = await container.executor.execute(place, _ctx("place_order", f"place-{token}"))
    return uuid.UUID(json.loads(placed.body)["order_id"])


async def _authorize(container: Container, order_id: uuid.UUID, key: str) -> CommandOutcome:
    return await authorize_payment(
        commands.AuthorizePayment(order_id),
        _ctx(AUTHORIZE, key),
        executor=container.executor,
        gateways=container.gateways,
        settings=container.payment,
    )


def _audit(db: psycopg.Connection[Any], order_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT actor, idempotency_key, version_before, version_after, outcome, problem_type"
        " FROM audit_log WHERE command = %s AND order_id = %s ORDER BY id",
        (AUTHORIZE, order_id),
    ).fetchall()


def _one(db: psycopg.Connection[Any], sql: str, *params: object) -> tuple[Any, ...]:
    return tuple(db.execute(sql, params).fetchall())


async def test_a_timeout_and_the_reconcilers_finish_are_audited_and_counted_by_the_executor(
    container: Container, db: psycopg.Connection[Any]
) -> None:
    order_id = await _placed(container, "tok_timeout")
    before = _counts()
    with pytest.raises(PaymentTimeout):
        await _authorize(container, order_id, "auth-late")
    assert _moved(before) == {"rejected": 1, "timeouts": 1}
    assert _audit(db, order_id) == [(CLIENT, "auth-late", 1, None, "rejected", "payment-timeout")]

    before = _counts()
    report = await reconcile(container.executor, container.gateways, older_than=timedelta(0))
    assert (report.recorded, report.abandoned, report.failed) == (1, 0, 0)
    # Accepted and one outbox row, but not timed: the run was only the end of the request.
    assert _moved(before) == {"accepted": 1, "outbox": 1}
    assert _audit(db, order_id)[1:] == [("system:reconciler", "auth-late", 1, 2, "accepted", None)]

    before = _counts()
    retried = await _authorize(container, order_id, "auth-late")
    assert (retried.status_code, retried.replayed) == (200, True)
    assert retried.headers["ETag"] == '"2"'
    assert json.loads(retried.body)["status"] == "AUTHORIZED"
    assert _moved(before) == {"replays": 1}


async def test_a_cancel_during_the_provider_call_is_refused_and_the_authorization_stands(
    container: Container, db: psycopg.Connection[Any]
) -> None:
    order_id = await _placed(container, "tok_slow")
    before = _counts()
    authorizing = asyncio.create_task(_authorize(container, order_id, "auth-overtaken"))
    for _ in range(250):  # the attempt is committed before the provider is called
        if _one(db, "SELECT 1 FROM payment_attempts WHERE order_id = %s", order_id):
            break
        await asyncio.sleep(0.02)
    cancel = commands.CancelOrder(order_id, "changed my mind")
    with pytest.raises(PaymentInFlight):  # a cancel now would leave the coming hold behind
        await container.canceller.cancel(cancel, _ctx("cancel_order", "cancel"))
    authorized = await authorizing
    assert json.loads(authorized.body)["status"] == "AUTHORIZED"  # it can be captured
    assert _moved(before) == {"accepted": 1, "outbox": 1}
    attempts = "SELECT status FROM payment_attempts WHERE order_id = %s"
    assert _one(db, attempts, order_id) == (("approved",),)
    state = "SELECT status, version FROM orders WHERE id = %s"
    assert _one(db, state, order_id) == (("AUTHORIZED", 2),)
    audit = "SELECT outcome, problem_type FROM audit_log WHERE idempotency_key = 'cancel'"
    assert _one(db, audit) == (("rejected", "payment-in-flight"),)


async def test_an_attempt_the_provider_never_saw_is_abandoned_and_its_key_freed(
    container: Container, db: psycopg.Connection[Any]
) -> None:
    order_id = await _placed(container, "tok_timeout")
    with pytest.raises(PaymentTimeout):
        await _authorize(container, order_id, "auth-lost")
    audited = _audit(db, order_id)
    before = _counts()
    forgetful = {"sandbox-card": ForgetfulProvider("sandbox-card", slow_seconds=0)}
    report = await reconcile(container.executor, forgetful, older_than=timedelta(0))
    assert (report.recorded, report.abandoned, report.failed) == (0, 1, 0)
    assert _moved(before) == {}  # housekeeping, not a command: no count, no audit row
    assert _audit(db, order_id) == audited
    attempts = "SELECT status, decline_reason FROM payment_attempts WHERE order_id = %s"
    assert _one(db, attempts, order_id) == (("abandoned", "unknown to provider"),)
    receipt = "SELECT count(*) FROM idempotency_receipts WHERE key = %s"
    assert _one(db, receipt, "auth-lost") == ((0,),)
