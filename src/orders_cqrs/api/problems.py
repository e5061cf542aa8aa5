"""RFC 9457 problem details: the only place that maps the API's failures to HTTP (the
consoles show theirs to people as HTML pages, in ``web/guard.py``).

Each failure has a stable ``type`` URI that clients can switch on, and changes nothing.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opensearchpy.exceptions import TransportError as OpenSearchTransportError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from orders_cqrs.domain.errors import DomainError
from orders_cqrs.failures.refusals import (
    HistoryGone,
    InvalidCursor,
    InvalidDashboardQuery,
    InvalidSearch,
    RebuildRunning,
    RebuildUnsupported,
    Refusal,
    UnknownProjection,
    VersionNotWritten,
)
from orders_cqrs.failures.stores import StoreBusy, StoreUnavailable
from orders_cqrs.readmodels.freshness import NotYetProjected

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "/problems/"

log = structlog.get_logger(__name__)

# problem type -> (status, title)
PROBLEMS: dict[str, tuple[int, str]] = {
    "validation": (422, "The request is not valid"),
    "malformed-request": (400, "The request body is not valid JSON"),
    "payload-too-large": (413, "The request body is too large"),
    "unauthorized": (401, "Missing or unknown API key"),
    "forbidden": (403, "This API key's role may not do that"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "unsupported-media-type": (415, "Send application/json"),
    "unknown-sku": (422, "Unknown SKU"),
    "out-of-stock": (409, "Out of stock"),
    "version-conflict": (412, "The order changed since the version you named"),
    "illegal-transition": (409, "The order's status does not allow this"),
    "refund-rule": (422, "The refund breaks a refund rule"),
    "capture-rule": (422, "The capture breaks a capture rule"),
    "inventory-conflict": (409, "Stock cannot go below reserved units"),
    "min-version-ahead": (409, "That version has not been written yet"),
    "rebuild-unsupported": (409, "This projection has no rebuild"),
    "rebuild-running": (409, "A rebuild of this projection is already running"),
    "history-gone": (409, "The event log no longer holds the history a rebuild needs"),
    "idempotency-key-missing": (400, "Send an Idempotency-Key header"),
    "idempotency-mismatch": (422, "Idempotency-Key reused with a different request"),
    "idempotency-in-flight": (409, "A request with this Idempotency-Key is in progress"),
    "payment-timeout": (504, "The payment provider did not answer in time"),
    "payment-in-flight": (409, "A payment authorization of this order is under way"),
    "store-busy": (503, "The service is busy; retry shortly"),
    "unavailable": (503, "A backing store is unavailable; retry shortly"),
    "projection-lagging": (503, "The read model has not caught up with that version yet"),
    "internal": (500, "Internal error"),
}

# Refusals that are not order rules, by class. Domain errors name their own type (the audit
# log records it); these are never audited, so their problem type is decided here alone.
REFUSALS: dict[type[Refusal], str] = {
    InvalidSearch: "validation",
    InvalidDashboardQuery: "validation",
    InvalidCursor: "validation",
    VersionNotWritten: "min-version-ahead",
    UnknownProjection: "not-found",
    RebuildUnsupported: "rebuild-unsupported",
    RebuildRunning: "rebuild-running",
    HistoryGone: "history-gone",
}

IDEMPOTENCY_KEY_LOC = ("header", "Idempotency-Key")

_STATUS_TYPES = {
    400: "malformed-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


def problem(
    kind: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A ``application/problem+json`` response of a known problem type."""
    status, title = PROBLEMS[kind]
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + kind,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def refusal_type(error: Refusal) -> str:
    """The problem type of a refusal: its own class's, else the nearest mapped ancestor's."""
    for cls in type(error).__mro__:
        if cls in REFUSALS:
            return REFUSALS[cls]
    return "validation"


def _lacks_idempotency_key(error: RequestValidationError) -> bool:
    """Whether the request had no Idempotency-Key where one is required (a malformed one is a
    validation problem like any other value)."""
    return any(
        item.get("type") == "missing" and tuple(item.get("loc", ()))[:2] == IDEMPOTENCY_KEY_LOC
        for item in error.errors()
    )


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    # Only where and what: the offending input is not echoed back (it may be huge or secret).
    return [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": item.get("msg", "")}
        for item in error.errors()[:20]
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Route every failure through ``problem``."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> JSONResponse:
        extra: dict[str, Any] = {}
        if error.problem_type == "out-of-stock":
            extra["sku"] = getattr(error, "sku", None)
        if error.problem_type == "version-conflict":
            extra["current_version"] = getattr(error, "actual", None)
        kind = error.problem_type if error.problem_type in PROBLEMS else "validation"
        # The first request with the key is still running: its answer is worth a retry soon.
        headers = {"Retry-After": "1"} if kind == "idempotency-in-flight" else None
        return problem(kind, error.detail, instance=request.url.path, headers=headers, **extra)

    @app.exception_handler(Refusal)
    async def _refused(request: Request, error: Refusal) -> JSONResponse:
        extra: dict[str, Any] = {}
        if isinstance(error, VersionNotWritten) and error.current_version is not None:
            extra["current_version"] = error.current_version
        return problem(refusal_type(error), error.detail, instance=request.url.path, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = error.errors()
        if any(item.get("type") == "json_invalid" for item in errors):
            return problem(
                "malformed-request", "the body is not valid JSON", instance=request.url.path
            )
        if _lacks_idempotency_key(error):
            # DESIGN §4 and the IETF Idempotency-Key draft: a missing key is a 400. Any other
            # problem of the request is listed too, so one retry can fix everything.
            return problem(
                "idempotency-key-missing",
                "every mutating call needs an Idempotency-Key header: a unique value per"
                " intended request, reused by its retries",
                instance=request.url.path,
                errors=_validation_errors(error),
            )
        return problem(
            "validation",
            "the request does not match the API contract",
            instance=request.url.path,
            errors=_validation_errors(error),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        kind = _STATUS_TYPES.get(error.status_code, "malformed-request")
        detail = error.detail if isinstance(error.detail, str) else PROBLEMS[kind][1]
        headers = dict(error.headers) if error.headers else None
        return problem(kind, detail, instance=request.url.path, headers=headers)

    @app.exception_handler(StoreBusy)
    async def _busy(request: Request, error: StoreBusy) -> JSONResponse:
        return problem(
            "store-busy", str(error), instance=request.url.path, headers={"Retry-After": "1"}
        )

    @app.exception_handler(StoreUnavailable)
    async def _down(request: Request, error: StoreUnavailable) -> JSONResponse:
        return problem(
            "unavailable", str(error), instance=request.url.path, headers={"Retry-After": "2"}
        )

    @app.exception_handler(NotYetProjected)
    async def _lagging(request: Request, error: NotYetProjected) -> JSONResponse:
        return problem(
            "projection-lagging",
            str(error),
            instance=request.url.path,
            headers={"Retry-After": "1"},
            min_version=error.wanted,
            projected_version=error.have,
        )

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    @app.exception_handler(OpenSearchTransportError)  # connection errors and timeouts too
    async def _read_store_down(request: Request, error: Exception) -> JSONResponse:
        store = "search index" if isinstance(error, OpenSearchTransportError) else "read store"
        return problem(
            "unavailable",
            f"the {store} is unavailable",
            instance=request.url.path,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem("internal", "an unexpected error occurred", instance=request.url.path)
