"""The demo catalogue that ``make dev`` loads."""

from __future__ import annotations

from orders_cqrs.bootstrap import open_container
from orders_cqrs.config import Settings

DEMO_PRODUCTS: tuple[tuple[str, str, int, int], ...] = (
    ("SKU-MUG-01", "Enamel camping mug", 1499, 120),
    ("SKU-TEE-BLK-M", "Organic cotton tee, black, M", 2499, 80),
    ("SKU-BOTTLE-750", "Insulated bottle 750 ml", 2999, 60),
    ("SKU-LAMP-DESK", "Walnut desk lamp", 8900, 15),
    ("SKU-KETTLE-GOOSE", "Gooseneck kettle", 6450, 25),
    ("SKU-LAST-ONE", "Signed first edition (only one)", 25000, 1),
)


async def seed_demo_products(settings: Settings) -> int:
    """Put every demo product with its demo stock; returns how many."""
    async with (
        open_container(settings, commands=True) as container,
        container.executor.uow_factory() as uow,
    ):
        for sku, name, price, stock in DEMO_PRODUCTS:
            current = await uow.inventory.get(sku)
            on_hand = max(stock, current.reserved) if current is not None else stock
            await uow.inventory.put(
                sku=sku, name=name, unit_price=price, currency="EUR", on_hand=on_hand
            )
        await uow.commit()
    return len(DEMO_PRODUCTS)
