"""The demo catalogue that ``make dev`` loads."""

from __future__ import annotations

from orders_cqrs.bootstrap import open_container
from orders_cqrs.config import Settings
from orders_cqrs.staff.passwords import Passwords

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


# One staff account per console, for a laptop: printed by ``orders-cqrs dev`` (never in
# production, where ``dev`` seeds none).
DEMO_STAFF: tuple[tuple[str, str, str, str], ...] = (
    ("Dana Demo (support)", "support@orders.example", "support", "dev-support-password"),
    ("Olu Demo (ops)", "ops@orders.example", "ops", "dev-ops-password"),
)


async def seed_demo_staff(settings: Settings) -> tuple[tuple[str, str, str, str], ...]:
    """Make sure every demo account exists, is enabled and has its demo password (a password
    that still matches is left alone, so a restart signs nobody out); returns them."""
    passwords = Passwords()
    async with open_container(settings) as container:
        accounts = container.staff_accounts
        for name, email, role, password in DEMO_STAFF:
            account = await accounts.by_email(email)
            if account is None:
                hashed = passwords.hash(password)
                await accounts.add(name=name, email=email, role=role, password_hash=hashed)
                continue
            if not passwords.verify(account.password_hash, password):
                await accounts.set_password(email, passwords.hash(password))
            if account.disabled_at is not None:
                await accounts.enable(email)
    return DEMO_STAFF
