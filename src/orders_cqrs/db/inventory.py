"""Inventory rows: conditional reservation, release and sale of stock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from orders_cqrs.db.tables import products
from orders_cqrs.domain.values import OrderLine


@dataclass(frozen=True, slots=True)
class ProductRow:
    """A product with its stock counters."""

    sku: str
    name: str
    unit_price: int
    currency: str
    on_hand: int
    reserved: int
    sold: int
    version: int

    @property
    def available(self) -> int:
        """Stock that a new order may still reserve."""
        return self.on_hand - self.reserved


_COLUMNS = tuple(c for c in products.c if c.name != "updated_at")


def _by_sku(quantities: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    # Every writer touches product rows in the same (sorted) order, so two orders that share
    # SKUs queue behind each other instead of each holding the lock the other one waits for.
    return sorted(quantities)


class InventoryRepository:
    """Stock counters of the ``products`` table."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def reserve(self, sku: str, quantity: int) -> ProductRow | None:
        """Reserve ``quantity`` if that much is unreserved; None when it is not (or no SKU).

        The check and the increment are one conditional UPDATE: the row lock taken by the
        UPDATE makes concurrent buyers of the last item queue, and each re-evaluates the
        condition on the committed row, so exactly one of them wins it.
        """
        result = await self._conn.execute(
            update(products)
            .where(products.c.sku == sku)
            .where(products.c.on_hand - products.c.reserved >= quantity)
            .values(reserved=products.c.reserved + quantity)
            .returning(*_COLUMNS)
        )
        row = result.one_or_none()
        return ProductRow(**row._mapping) if row is not None else None

    async def reserve_lines(self, quantities: Iterable[tuple[str, int]]) -> list[ProductRow | None]:
        """Reserve each (sku, quantity) in sorted SKU order; None where it could not."""
        return [await self.reserve(sku, qty) for sku, qty in _by_sku(quantities)]

    async def release(self, lines: Iterable[OrderLine]) -> None:
        """Give reserved stock back (cancel, decline)."""
        for sku, qty in _by_sku((line.sku, line.quantity) for line in lines):
            await self._conn.execute(
                update(products)
                .where(products.c.sku == sku)
                .values(reserved=products.c.reserved - qty)
            )

    async def sell(self, lines: Iterable[OrderLine]) -> None:
        """Turn a reservation into a sale (capture): stock leaves the shelf."""
        for sku, qty in _by_sku((line.sku, line.quantity) for line in lines):
            await self._conn.execute(
                update(products)
                .where(products.c.sku == sku)
                .values(
                    reserved=products.c.reserved - qty,
                    on_hand=products.c.on_hand - qty,
                    sold=products.c.sold + qty,
                )
            )

    async def get(self, sku: str) -> ProductRow | None:
        """One product, or None."""
        row = (await self._conn.execute(select(*_COLUMNS).where(products.c.sku == sku))).first()
        return ProductRow(**row._mapping) if row is not None else None

    async def exists(self, sku: str) -> bool:
        """Whether the catalogue holds ``sku``."""
        found = await self._conn.execute(select(products.c.sku).where(products.c.sku == sku))
        return found.first() is not None

    async def put(
        self, *, sku: str, name: str, unit_price: int, currency: str, on_hand: int
    ) -> ProductRow | None:
        """Create or restock a product; None when ``on_hand`` would drop below reservations."""
        stmt = insert(products).values(
            sku=sku, name=name, unit_price=unit_price, currency=currency, on_hand=on_hand
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=[products.c.sku],
            set_={
                "name": stmt.excluded.name,
                "unit_price": stmt.excluded.unit_price,
                "currency": stmt.excluded.currency,
                "on_hand": stmt.excluded.on_hand,
                "version": products.c.version + 1,
                "updated_at": stmt.excluded.updated_at,
            },
            where=products.c.reserved <= stmt.excluded.on_hand,
        ).returning(*_COLUMNS)
        row = (await self._conn.execute(upsert)).first()
        return ProductRow(**row._mapping) if row is not None else None
