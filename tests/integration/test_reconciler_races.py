"""The reconciler reads a pending attempt, asks the provider, then writes: a client's retry can
finish the attempt in between. What the retry recorded must stand: the reconciler re-checks
the attempt under its locks and writes nothing when it is no longer its to finish.

In-process on the real database; the provider is the only fake (a third party), and its
``retrieve`` lets the retry run while the reconciler waits for the answer.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from orders_cqrs.bootstrap import Container, open_container
from orders_cqrs.config import Settings
from orders_cqrs.domain import commands
from orders_cqrs.domain.values import Address, Customer
from orders_cqrs.write.context import CommandContext, CommandOutcome
from orders_cqrs.write.errors import PaymentTimeout
from orders_cqrs.write.payments.authorization import authorize_payment
from orders_cqrs.write.payments.port import (
    AuthorizationRequest,
    AuthorizationResult,
    PaymentGateway,
)
from orders_cqrs.write.payments.reconciler import reconcile
from orders_cqrs.write.payments.sandbox import SandboxGateway

SKU = "SKU-RACES"
CLIENT = "checkout:races"
PROVIDER = "sandbox-card"


class AnswersAfter(SandboxGateway):
    """A provider whose ``retrieve`` answers only after ``meanwhile`` ran: what happens while
    the reconciler waits for it. ``forgets`` makes it answer that it never saw the attempt."""

    def __init__(self, meanwhile: Callable[[], Awaitable[None]], *, forgets: bool) -> None:
        super().__init__(PROVIDER, slow_seconds=0)
        self._meanwhile = meanwhile
        self._forgets = forgets

    async def retrieve(self, request: AuthorizationRequest) -> AuthorizationResult | None:
        await self._meanwhile()
        return None if self._forgets else await super().retrieve(request)


class AnswersWhenTold(SandboxGateway):
    """A provider that holds its answer to ``authorize`` until ``answer`` is set."""

    def __init__(self, reached: asyncio.Event, answer: asyncio.Event) -> None:
        super().__init__(PROVIDER, slow_seconds=0)
        self._reached = reached
        self._answer = answer

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        self._reached.set()
        await self._answer.wait()
        result = await super().retrieve(request)
        assert result is not None
        return result


def _ctx(command: str, key: str) -> CommandContext:
    return CommandContext(
        command=command, actor=CLIENT, client_id=CLIENT, idempotency_key=key, fingerprint=key
    )


@pytest.fixture
async def container(db: psycopg.Connection[Any], database_url: str) -> AsyncIterator[Container]:
    settings = Settings(database_url=database_url, clickhouse_url="", payment_timeout_seconds=0.2)
    async with open_container(settings, commands=True) as opened:
        yield opened


async def _timed_out_order(container: Container, key: str) -> uuid.UUID:
    """An order whose authorization under ``key`` timed out: its attempt is pending."""
    put = commands.PutProduct(SKU, "Mug", 1500, "EUR", 5)
    await container.executor.execute(put, _ctx("put_product", f"put-{key}"))
    customer = Customer(uuid.uuid4(), "ada@example.com", "Ada Lovelace", "DE")
    address = Address("DE", "Berlin", "Berlin", "10115", "Invalidenstr. 1")
    place = commands.PlaceOrder(customer, ((SKU, 1),), address, PROVIDER, "tok_timeout")
    placed = await container.executor.execute(place, _ctx("place_order", f"place-{key}"))
    order_id = uuid.UUID(json.loads(placed.body)["order_id"])
    with pytest.raises(PaymentTimeout):
        await _authorize(container, order_id, key, container.gateways)
    return order_id


async def _authorize(
    container: Container, order_id: uuid.UUID, key: str, gateways: dict[str, PaymentGateway]
) -> CommandOutcome:
    return await authorize_payment(
        commands.AuthorizePayment(order_id),
        _ctx("authorize_payment", key),
        executor=container.executor,
        gateways=gateways,
        settings=container.payment,
    )


def _answering_at_once() -> dict[str, PaymentGateway]:
    """The same sandbox, reached this time: ``tok_timeout`` is answered (approved) at once."""
    return {PROVIDER: SandboxGateway(PROVIDER, slow_seconds=0, hang_seconds=0)}


def _rows(db: psycopg.Connection[Any], sql: str, *params: object) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in db.execute(sql, params).fetchall()]


async def test_an_abandon_never_overwrites_an_answer_recorded_after_the_reconcilers_read(
    container: Container, db: psycopg.Connection[Any]
) -> None:
    order_id = await _timed_out_order(container, "auth-lost")
    retried: list[CommandOutcome] = []

    async def client_retries() -> None:
        # The provider's lookup missed the attempt; the client's retry of the same request
        # reaches the provider and records its approval before the reconciler writes.
        retried.append(await _authorize(container, order_id, "auth-lost", _answering_at_once()))

    forgetful = {PROVIDER: AnswersAfter(client_retries, forgets=True)}
    report = await reconcile(container.executor, forgetful, older_than=timedelta(0))

    assert json.loads(retried[0].body)["status"] == "AUTHORIZED"
    attempts = "SELECT status, provider_ref IS NOT NULL FROM payment_attempts WHERE order_id = %s"
    assert _rows(db, attempts, order_id) == [("approved", True)]
    state = "SELECT status, version FROM orders WHERE id = %s"
    assert _rows(db, state, order_id) == [("AUTHORIZED", 2)]
    replay = await _authorize(container, order_id, "auth-lost", container.gateways)
    assert (replay.replayed, replay.body) == (True, retried[0].body)
    assert (report.abandoned, report.moved_on) == (0, 1)


async def test_a_late_reconciler_answer_leaves_the_receipt_the_retry_completed_alone(
    container: Container, db: psycopg.Connection[Any]
) -> None:
    order_id = await _timed_out_order(container, "auth-late")
    retried: list[CommandOutcome] = []

    async def client_retries_then_cancels() -> None:
        # The retry records the approval and its receipt; then the order moves on.
        retried.append(await _authorize(container, order_id, "auth-late", _answering_at_once()))
        cancel = commands.CancelOrder(order_id, "changed my mind")
        await container.canceller.cancel(cancel, _ctx("cancel_order", "cancel-late"))

    late = {PROVIDER: AnswersAfter(client_retries_then_cancels, forgets=False)}
    report = await reconcile(container.executor, late, older_than=timedelta(0))

    # The retry's answer is what its key replays, byte for byte: not the cancelled order
    # that the reconciler would have found and stored under the same key.
    replay = await _authorize(container, order_id, "auth-late", container.gateways)
    assert (replay.replayed, replay.body) == (True, retried[0].body)
    assert json.loads(replay.body)["status"] == "AUTHORIZED"
    audit = "SELECT actor FROM audit_log WHERE order_id = %s AND idempotency_key = %s"
    assert _rows(db, audit, order_id, "auth-late") == [(CLIENT,), (CLIENT,)]  # 504, then 200
    assert (report.recorded, report.moved_on) == (0, 1)


@pytest.mark.parametrize("retry_key", ["auth-again", "auth-other"], ids=["same-key", "new-key"])
async def test_an_abandon_leaves_alone_an_attempt_a_retry_is_asking_the_provider_about(
    container: Container, db: psycopg.Connection[Any], retry_key: str
) -> None:
    order_id = await _timed_out_order(container, "auth-again")
    reached, answer = asyncio.Event(), asyncio.Event()
    retries: list[asyncio.Task[CommandOutcome]] = []

    async def client_retries() -> None:
        # The retry takes the attempt over and its provider call is under way (it will be
        # approved) when the reconciler, told the provider never saw it, comes to write.
        gateways: dict[str, PaymentGateway] = {PROVIDER: AnswersWhenTold(reached, answer)}
        retries.append(asyncio.create_task(_authorize(container, order_id, retry_key, gateways)))
        await reached.wait()

    forgetful = {PROVIDER: AnswersAfter(client_retries, forgets=True)}
    report = await reconcile(container.executor, forgetful, older_than=timedelta(0))
    answer.set()
    retried = await retries[0]

    # The hold the provider made is on the order, recorded by the request that asked for it.
    assert json.loads(retried.body)["status"] == "AUTHORIZED"
    attempts = "SELECT status, provider_ref IS NOT NULL FROM payment_attempts WHERE order_id = %s"
    assert _rows(db, attempts, order_id) == [("approved", True)]
    replay = await _authorize(container, order_id, retry_key, container.gateways)
    assert (replay.replayed, replay.body) == (True, retried.body)
    assert (report.abandoned, report.moved_on) == (0, 1)
