"""The FastAPI application: routes, problem handlers, middleware, and the container lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from orders_cqrs.api.middleware import BodySizeLimit, RequestMetrics
from orders_cqrs.api.problems import install_problem_handlers
from orders_cqrs.api.routes import health, inventory, orders, projections, reads
from orders_cqrs.bootstrap import build_container
from orders_cqrs.config import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the container (pool, gateways) lives as long as the app runs."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = build_container(settings)
        app.state.container = container
        try:
            yield
        finally:
            await container.aclose()

    app = FastAPI(
        title="orders-cqrs",
        version="1",
        summary="Order checkout: commands on PostgreSQL, reads from projections.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(inventory.router)
    app.include_router(orders.router)
    app.include_router(reads.router)
    app.include_router(projections.router)
    app.include_router(health.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics)
    return app
