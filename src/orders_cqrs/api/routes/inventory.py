"""Inventory: ops restock products and read stock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from orders_cqrs.api import examples
from orders_cqrs.api.auth import Ops
from orders_cqrs.api.contract import (
    COMMAND,
    ETAG,
    IDEMPOTENT_REPLAYED,
    READ,
    problem_responses,
    success,
)
from orders_cqrs.api.deps import ExecutorDep
from orders_cqrs.api.envelope import EnvelopeDep
from orders_cqrs.api.routes.responses import command_response
from orders_cqrs.api.schemas import SKU_PATTERN, ProductIn, ProductOut
from orders_cqrs.domain.commands import PutProduct
from orders_cqrs.domain.errors import ProductNotFound
from orders_cqrs.write.handlers.inventory import product_view

router = APIRouter(prefix="/v1/inventory", tags=["inventory"])
SkuPath = Annotated[str, Path(pattern=SKU_PATTERN)]


@router.put(
    "/{sku}",
    response_model=ProductOut,
    status_code=200,
    responses=success(200, headers=ETAG | IDEMPOTENT_REPLAYED, description="The product, updated.")
    | success(
        201,
        headers=ETAG | IDEMPOTENT_REPLAYED,
        description="The product, created.",
        model=ProductOut,
    )
    | problem_responses(*COMMAND, "version-conflict", "inventory-conflict"),
)
async def put_inventory(
    sku: SkuPath,
    body: Annotated[ProductIn, Body(openapi_examples=examples.PUT_PRODUCT)],
    principal: Ops,
    envelope: EnvelopeDep,
    executor: ExecutorDep,
) -> Response:
    """Create a product or set its name, price and stock on hand (never below reserved)."""
    command = PutProduct(
        sku=sku,
        name=body.name,
        unit_price=body.unit_price.amount,
        currency=body.unit_price.currency,
        on_hand=body.on_hand,
    )
    ctx = envelope.context("put_product", principal, body)
    outcome = await executor.execute(command, ctx)
    return command_response(outcome)


@router.get(
    "/{sku}",
    response_model=ProductOut,
    responses=problem_responses(*READ, "store-busy", "not-found"),
)
async def get_inventory(sku: SkuPath, principal: Ops, executor: ExecutorDep) -> ProductOut:
    """A product's price and stock: on hand, reserved, available, sold."""
    async with executor.uow_factory() as uow:
        row = await uow.inventory.get(sku)
    if row is None:
        raise ProductNotFound(f"no product with SKU {sku}")
    return ProductOut.model_validate(product_view(row))
