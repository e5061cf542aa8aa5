"""The sandbox providers void by token, like they authorize: idempotent by key, slow and
timeout tokens included, and an authorization they never issued is voided with nothing held."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from orders_cqrs.write.payments.port import VoidRequest
from orders_cqrs.write.payments.sandbox import SandboxGateway


def _void(token: str, key: uuid.UUID | None = None, ref: str = "auth_0123") -> VoidRequest:
    return VoidRequest(key or uuid.uuid4(), uuid.uuid4(), ref, 1500, "EUR", token)


async def test_voiding_twice_with_one_key_gives_the_same_answer() -> None:
    sandbox = SandboxGateway("sandbox-card", slow_seconds=0)
    request = _void("tok_approve")
    first, again = await sandbox.void(request), await sandbox.void(request)
    assert first == again == await sandbox.retrieve_void(request)
    assert first.released and first.provider_ref.startswith("void_")
    assert (await sandbox.void(_void("tok_approve"))).provider_ref != first.provider_ref


@pytest.mark.parametrize(
    ("token", "ref"),
    [("tok_decline", "auth_0123"), ("tok_approve", ""), ("tok_approve", "elsewhere")],
    ids=["declined-token", "no-authorization", "foreign-reference"],
)
async def test_voiding_an_authorization_the_sandbox_never_issued_releases_nothing(
    token: str, ref: str
) -> None:
    result = await SandboxGateway("sandbox-card", slow_seconds=0).void(_void(token, ref=ref))
    assert not result.released  # an answer, not an error: no hold remains either way


async def test_slow_tokens_void_after_the_delay_and_timeout_tokens_never_answer() -> None:
    sandbox = SandboxGateway("sandbox-wallet", slow_seconds=0.2, hang_seconds=60)
    started = time.monotonic()
    assert (await sandbox.void(_void("tok_slow"))).released
    assert time.monotonic() - started >= 0.2
    hanging = _void("tok_timeout")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sandbox.void(hanging), 0.1)
    found = await sandbox.retrieve_void(hanging)  # the provider did void it
    assert found is not None and found.released
