"""The steps of an admin request: claim its key, then store its answer or free the key.

``write/admin_requests.py`` runs the request's work between them with no transaction open.
"""

from __future__ import annotations

from orders_cqrs.write.admin_requests import (
    CloseAdminRequest,
    OpenAdminRequest,
    ReleaseAdminRequest,
)
from orders_cqrs.write.context import Accepted, CommandContext, Continued
from orders_cqrs.write.unit_of_work import UnitOfWork


async def open_admin_request(
    cmd: OpenAdminRequest, uow: UnitOfWork, ctx: CommandContext
) -> Continued[None]:
    """Claim the key; settled here, so a held key is answered before any work starts."""
    await uow.settle()
    return Continued(None)


async def close_admin_request(
    cmd: CloseAdminRequest, uow: UnitOfWork, ctx: CommandContext
) -> Accepted:
    """The work's answer, stored in the receipt with an audit row (no order, no event)."""
    return Accepted(cmd.answer.body, None, None, None)


async def release_admin_request(
    cmd: ReleaseAdminRequest, uow: UnitOfWork, ctx: CommandContext
) -> Continued[None]:
    """Forget the claim: the same key may be sent again."""
    await uow.receipts.release(client_id=ctx.client_id, key=ctx.idempotency_key)
    return Continued(None)
