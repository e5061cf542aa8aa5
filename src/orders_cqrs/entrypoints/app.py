"""The FastAPI application: routes, problem handlers, middleware, and the container lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from orders_cqrs.api.contract import finish_document
from orders_cqrs.api.draining import drain_on_sigterm
from orders_cqrs.api.middleware import BodySizeLimit, RequestMetrics
from orders_cqrs.api.operations import name_operations
from orders_cqrs.api.problems import install_problem_handlers
from orders_cqrs.api.request_log import RequestLog
from orders_cqrs.api.routes import (
    dashboards,
    health,
    history,
    inventory,
    orders,
    projections,
    reads,
    search,
)
from orders_cqrs.bootstrap import Container, open_container
from orders_cqrs.config import Settings, get_settings
from orders_cqrs.entrypoints.workers import in_process_analytics, run_projection, run_relay
from orders_cqrs.observability import tracing
from orders_cqrs.observability.build_info import declare_build_info
from orders_cqrs.observability.logging import configure_from
from orders_cqrs.web.ops import router as ops_router
from orders_cqrs.web.ops_actions import router as ops_actions_router
from orders_cqrs.web.ops_drill import router as ops_drill_router
from orders_cqrs.web.order_actions import router as order_actions_router
from orders_cqrs.web.problem_pages import router as problem_pages_router
from orders_cqrs.web.render import STATIC_DIR
from orders_cqrs.web.routes import router as web_router


def _name_operations_in_openapi(app: FastAPI) -> None:
    """Build the OpenAPI document once, with the operation ids and summaries of our table and
    what the routes cannot say themselves (``api/contract.py``)."""
    build = app.openapi

    def named() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            name_operations(document)
            finish_document(document)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = named  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, *, with_workers: bool = False) -> FastAPI:
    """Build the app: the API's routes and the console's pages, one container for both.

    ``with_workers`` also runs the relay and every projector in this process (laptop mode).
    """
    settings = settings or get_settings()
    settings.require_serving()
    # Each worker process builds its own app: its logs must be the redacting ones too.
    configure_from(settings)
    declare_build_info("api")
    # Here too, not in the CLI: each worker process builds its app and must trace on its own.
    tracing.configure("orders-dev" if with_workers else "orders-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_container(settings, commands=True) as container:
            app.state.container = container
            restore_sigterm = drain_on_sigterm(settings.drain_seconds)
            stop = asyncio.Event()
            workers = start_workers(container, stop) if with_workers else []
            workers += [] if with_workers else in_process_analytics(container, stop)
            try:
                yield
            finally:
                restore_sigterm()
                stop.set()
                await asyncio.gather(*workers, return_exceptions=True)

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
    app.include_router(history.router)
    app.include_router(search.router)
    app.include_router(projections.router)
    app.include_router(health.router)
    app.include_router(web_router)
    app.include_router(order_actions_router)
    app.include_router(dashboards.router)
    app.include_router(ops_router)
    app.include_router(ops_drill_router)
    app.include_router(ops_actions_router)
    app.include_router(problem_pages_router)
    _name_operations_in_openapi(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics)
    tracing.instrument_app(app)  # a no-op unless the OTEL_* variables turned tracing on
    app.add_middleware(RequestLog)  # outermost: its line covers everything inside
    return app


def create_dev_app() -> FastAPI:
    """The all-in-one app of ``orders-cqrs dev``: API, relay and projectors in one process."""
    return create_app(with_workers=True)


def start_workers(container: Container, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """Relay and projectors as tasks of this process, on the container's clients."""
    tasks = [asyncio.create_task(run_relay(container, stop))]
    tasks += [
        asyncio.create_task(run_projection(container, name, stop)) for name in container.projections
    ]
    return tasks
