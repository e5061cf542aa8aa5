"""Liveness, readiness and Prometheus metrics; no auth."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from orders_cqrs.api.deps import LookupsDep
from orders_cqrs.api.draining import draining
from orders_cqrs.api.problems import problem
from orders_cqrs.api.routes.responses import PROBLEM_SCHEMA
from orders_cqrs.observability.db_pool import sample_pools
from orders_cqrs.observability.multiprocess import exposition

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        503: {
            "description": "PostgreSQL is not reachable, or the API is draining to stop",
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        }
    },
)
async def readyz(lookups: LookupsDep) -> Response:
    """Ready when PostgreSQL answers and the API is not shutting down."""
    if draining():
        # Load balancers take the API out of rotation while it still serves what they send.
        return problem("unavailable", "the API is draining before it stops")
    try:
        await lookups.ping()
    except Exception:
        return problem("unavailable", "PostgreSQL does not answer", headers={"Retry-After": "2"})
    return Response(content=b'{"status":"ready"}', media_type="application/json")


@router.get("/metrics", response_class=Response)
async def prometheus_metrics() -> Response:
    """Prometheus exposition of the service's metrics (every API worker's)."""
    sample_pools()
    return Response(content=exposition(), media_type=CONTENT_TYPE_LATEST)
