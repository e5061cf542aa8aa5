"""Admin requests (a rebuild, a dead-letter replay) take an Idempotency-Key like every command.

They change no order, so nothing decides in a transaction; what they share with commands is
the receipt. They run as executor steps around the work, the way an authorization runs
around the provider call, so the key behaves exactly as it does for a command:

1. ``OpenAdminRequest``: claim the key and commit. A key that already has its answer gets
   that answer (``Idempotent-Replayed: true``), one used with another body is refused as a
   mismatch, one whose request is still running as in flight.
2. The work, with no transaction open.
3. ``CloseAdminRequest``: store the answer in the receipt, with an audit row naming who asked;
   commit. If the work is refused (or fails), ``ReleaseAdminRequest`` sets the key free
   instead: refusals are not stored, as for commands.

A process that dies during the work leaves the key in progress until its lease runs out
(``ORDERS_IDEMPOTENCY_LEASE_SECONDS``); a retry then runs the request again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from orders_cqrs.domain.commands import Command
from orders_cqrs.failures.stores import StoreError
from orders_cqrs.write.context import CommandContext, CommandOutcome
from orders_cqrs.write.executor import Executor, FollowUp, Step


@dataclass(frozen=True, slots=True)
class AdminAnswer:
    """What an admin request answers: its status code and JSON body."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OpenAdminRequest(Step[None]):
    """Claim the request's key before its work starts."""


@dataclass(frozen=True, slots=True)
class CloseAdminRequest(Command, FollowUp):
    """Store the work's answer in the request's receipt."""

    answer: AdminAnswer


@dataclass(frozen=True, slots=True)
class ReleaseAdminRequest(Step[None], FollowUp):
    """The work was refused or failed: set the key free for a retry."""


async def run_admin_request(
    executor: Executor, ctx: CommandContext, work: Callable[[], Awaitable[AdminAnswer]]
) -> CommandOutcome:
    """Run ``work`` once per idempotency key (see the module docstring)."""
    held = await executor.execute(OpenAdminRequest(), ctx)
    if isinstance(held, CommandOutcome):
        return held  # the key's stored answer
    try:
        answer = await work()
    except BaseException:
        # The work's own error is the answer; a key that cannot be freed now frees itself
        # when its lease runs out.
        with contextlib.suppress(StoreError):
            await executor.execute(ReleaseAdminRequest(), ctx)
        raise
    return await executor.execute(CloseAdminRequest(answer), ctx)
