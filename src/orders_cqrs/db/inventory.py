"""Inventory rows: conditional reservation, release and sale of stock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orders_cqrs.db.session import Session
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


# The check and the increment are one conditional UPDATE: the row lock taken by the UPDATE
# makes concurrent buyers of the last item queue, and each re-evaluates the condition on the
# committed row, so exactly one of them wins it.
_RESERVE = """
UPDATE products SET reserved = reserved + %(q)s
 WHERE sku = %(sku)s AND on_hand - reserved >= %(q)s
RETURNING sku, name, unit_price, currency, on_hand, reserved, sold, version
"""
_RELEASE = "UPDATE products SET reserved = reserved - %s WHERE sku = %s"
# A sale takes stock off the shelf: ``on_hand`` is a field a PUT sets, so the version moves
# (see ``write/handlers/inventory.py``); a reservation or a release only moves ``reserved``.
_SELL = """
UPDATE products SET reserved = reserved - %(q)s, on_hand = on_hand - %(q)s, sold = sold + %(q)s,
       version = version + 1
 WHERE sku = %(sku)s
"""
_GET = """
SELECT sku, name, unit_price, currency, on_hand, reserved, sold, version FROM products
  WHERE sku = %s
"""
# The If-Match check of a PUT reads the row with its lock: a second PUT carrying the same
# version waits here, then reads the version the first one wrote and fails the check. Read
# without the lock, both would pass it and both would write.
_GET_FOR_UPDATE = _GET + " FOR UPDATE"
_EXISTS = "SELECT 1 FROM products WHERE sku = %s"
_PUT = """
INSERT INTO products AS p (sku, name, unit_price, currency, on_hand)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (sku) DO UPDATE
   SET name = excluded.name, unit_price = excluded.unit_price, currency =
  excluded.currency,
       on_hand = excluded.on_hand, version = p.version + 1, updated_at =
  excluded.updated_at
 WHERE p.reserved <= excluded.on_hand
RETURNING sku, name, unit_price, currency, on_hand, reserved, sold, version
"""


def _by_sku(quantities: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    # Every writer touches product rows in the same (sorted) order, so two orders that share
    # SKUs queue behind each other instead of each holding the lock the other one waits for.
    return sorted(quantities)


class InventoryRepository:
    """Stock counters of the ``products`` table."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def reserve_lines(self, quantities: Iterable[tuple[str, int]]) -> list[ProductRow | None]:
        """Reserve each (sku, quantity) in sorted SKU order; None where it could not.

        The UPDATEs travel in one round trip, so an order of five lines costs one; PostgreSQL
        still runs them one after the other, in the sorted order.
        """
        results = await self._session.run_all(
            [(_RESERVE, {"sku": sku, "q": qty}) for sku, qty in _by_sku(quantities)]
        )
        return [ProductRow(*rows[0]) if rows else None for rows in results]

    async def release(self, lines: Iterable[OrderLine]) -> None:
        """Give reserved stock back (cancel, decline)."""
        for sku, qty in _by_sku((line.sku, line.quantity) for line in lines):
            self._session.later(_RELEASE, (qty, sku))

    async def sell(self, lines: Iterable[OrderLine]) -> None:
        """Turn a reservation into a sale (capture): stock leaves the shelf, a new version."""
        for sku, qty in _by_sku((line.sku, line.quantity) for line in lines):
            self._session.later(_SELL, {"sku": sku, "q": qty})

    async def get(self, sku: str) -> ProductRow | None:
        """One product, or None."""
        rows = await self._session.run(_GET, (sku,))
        return ProductRow(*rows[0]) if rows else None

    async def get_for_update(self, sku: str) -> ProductRow | None:
        """One product, locked until the transaction ends (a PUT's read-check-write), or None."""
        rows = await self._session.run(_GET_FOR_UPDATE, (sku,))
        return ProductRow(*rows[0]) if rows else None

    async def exists(self, sku: str) -> bool:
        """Whether the catalogue holds ``sku``."""
        return bool(await self._session.run(_EXISTS, (sku,)))

    async def put(
        self, *, sku: str, name: str, unit_price: int, currency: str, on_hand: int
    ) -> ProductRow | None:
        """Create or restock a product; None when ``on_hand`` would drop below reservations."""
        rows = await self._session.run(_PUT, (sku, name, unit_price, currency, on_hand))
        return ProductRow(*rows[0]) if rows else None
