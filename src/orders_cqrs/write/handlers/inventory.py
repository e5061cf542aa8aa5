"""PutProduct: create or restock; stock never drops below what orders reserved."""

from __future__ import annotations

from typing import Any

from orders_cqrs.db.inventory import ProductRow
from orders_cqrs.domain.commands import PutProduct
from orders_cqrs.domain.errors import InventoryConflict, VersionConflict
from orders_cqrs.write.context import Accepted, CommandContext
from orders_cqrs.write.unit_of_work import UnitOfWork


def product_view(row: ProductRow) -> dict[str, Any]:
    """The wire shape of a product and its stock."""
    return {
        "sku": row.sku,
        "name": row.name,
        "unit_price": {"amount": row.unit_price, "currency": row.currency},
        "on_hand": row.on_hand,
        "reserved": row.reserved,
        "available": row.available,
        "sold": row.sold,
        "version": row.version,
    }


async def put_product(cmd: PutProduct, uow: UnitOfWork, ctx: CommandContext) -> Accepted:
    """Upsert the product; refuse to set stock below open reservations.

    ``If-Match`` is checked against the product's row locked for this transaction, so two
    PUTs that carry the same version cannot both pass: the second waits for the first to
    commit and then sees its version. (A SKU nobody stocks yet has no row to lock; a
    concurrent create is settled by the upsert's unique key.)

    What the version counts: changes to the fields a PUT sets, the name, price, currency
    and stock on hand, whether by a PUT or by a sale (a capture takes units off the shelf).
    Reservations and their release move only ``reserved``, which no PUT writes, so they
    leave the version alone: a restock is not refused because orders came in meanwhile (a
    busy SKU is reserved many times a second), and it never needs to be, because the one
    rule tying the two together, stock on hand never below reserved, is checked by the
    upsert on the locked row.
    """
    current = await uow.inventory.get_for_update(cmd.sku)
    # A SKU nobody stocks is at version 0: an If-Match naming any version of it fails, as
    # RFC 9110 says of a precondition on a resource that has no current representation.
    current_version = current.version if current is not None else 0
    if ctx.if_match is not None and ctx.if_match != current_version:
        raise VersionConflict(ctx.if_match, current_version)
    row = await uow.inventory.put(
        sku=cmd.sku,
        name=cmd.name,
        unit_price=cmd.unit_price,
        currency=cmd.currency,
        on_hand=cmd.on_hand,
    )
    if row is None:
        raise InventoryConflict(f"{cmd.sku}: on_hand {cmd.on_hand} is below reserved stock")
    return Accepted(
        body=product_view(row),
        order_id=None,
        version_before=current.version if current is not None else None,
        version_after=row.version,
    )
