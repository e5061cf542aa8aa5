"""One log line per HTTP request (uvicorn's access log is off: it knows no route or caller).

The line names the route template, method, status, duration, the trace id (the caller's
``traceparent`` when valid, else a new root that the request's outbox rows carry too), the
authenticated client (never its key) and the order, when the path names one or the response
created one (``Location``). It never carries the raw path or query: those hold customers'
emails and search terms. Probes and scrapes (``/healthz``, ``/readyz``, ``/metrics``) log at
debug: at info they would drown the lines people read.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orders_cqrs.api.envelope import trace_context
from orders_cqrs.api.middleware import method_label, route_template
from orders_cqrs.observability import request_context

log = structlog.get_logger("orders_cqrs.request")

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
ORDERS_PREFIX = b"/v1/orders/"


class RequestLog:
    """Write the request's log line once it is answered (or failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = _header(scope, b"traceparent")
        facts = request_context.begin(trace_context(sent))
        if facts.traceparent != sent:
            # The trace this request starts (the caller sent none, or an invalid one): hand it
            # on as if sent, so a server span opened inside continues it and the log line,
            # the span and the outbox rows all name one trace.
            headers = [(k, v) for k, v in scope["headers"] if k != b"traceparent"]
            scope["headers"] = [*headers, (b"traceparent", facts.traceparent.encode())]
        status = 500
        created: bytes | None = None
        started = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status, created
            if message["type"] == "http.response.start":
                status = message["status"]
                created = dict(message.get("headers", ())).get(b"location")
            await send(message)

        with structlog.contextvars.bound_contextvars(trace_id=facts.trace_id):
            try:
                await self.app(scope, receive, recording_send)
            finally:
                route = route_template(scope)
                fields: dict[str, Any] = {
                    "trace_id": facts.trace_id,
                    "client_id": facts.client_id,
                    "route": route,
                    "method": method_label(scope),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                }
                order_id = _order_id(scope, created)
                if order_id is not None:
                    fields["order_id"] = order_id
                (log.debug if route in PROBES else log.info)("request", **fields)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _order_id(scope: Scope, created: bytes | None) -> str | None:
    """The order the path names, or the one the response created (``Location``)."""
    named = scope.get("path_params", {}).get("order_id")
    if named is not None:
        return str(named)[:64]  # a malformed id (a 422) is logged, bounded
    if created is not None and created.startswith(ORDERS_PREFIX):
        return created[len(ORDERS_PREFIX) :].split(b"/", 1)[0].decode("latin-1")[:64]
    return None
