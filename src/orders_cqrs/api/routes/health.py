"""Liveness, readiness and Prometheus metrics; no auth."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from orders_cqrs.api.admin_views import Health, Readiness
from orders_cqrs.api.contract import EVERY_REQUEST, Responses, problem_responses
from orders_cqrs.api.deps import LookupsDep
from orders_cqrs.api.draining import draining
from orders_cqrs.api.problems import problem
from orders_cqrs.observability.db_pool import sample_pools
from orders_cqrs.observability.multiprocess import exposition

router = APIRouter(tags=["health"])


# No parameters and no key: only what any request may meet.
UNAUTHENTICATED = problem_responses(*EVERY_REQUEST)
METRICS_TEXT: Responses = {
    200: {
        "description": "The Prometheus text exposition format.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


@router.get("/healthz", response_model=Health, responses=UNAUTHENTICATED)
async def healthz() -> Response:
    """The process is up."""
    return Response(content=b'{"status":"ok"}', media_type="application/json")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses=problem_responses(*EVERY_REQUEST, "unavailable"),
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


@router.get(
    "/metrics",
    response_class=Response,
    responses=METRICS_TEXT | UNAUTHENTICATED,
)
async def prometheus_metrics() -> Response:
    """Prometheus exposition of the service's metrics (every API worker's)."""
    sample_pools()
    return Response(content=exposition(), media_type=CONTENT_TYPE_LATEST)
