"""OpenTelemetry traces: one trace from a checkout through the relay to every read model.

Off by default, and configured only by the standard ``OTEL_*`` variables. The rule:

* ``OTEL_SDK_DISABLED=true`` turns tracing off, whatever else is set;
* otherwise ``OTEL_TRACES_EXPORTER`` names the exporters (``otlp``, ``console``, comma-
  separated); ``none`` turns tracing off;
* unset, tracing is on (with ``otlp``) only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set. (The specification's default exporter is
  ``otlp``; ours is none, so a process started without these variables builds no provider,
  patches no client and exports nothing.)

``otlp`` is OTLP over HTTP/protobuf (``OTEL_EXPORTER_OTLP_PROTOCOL`` may only say
``http/protobuf``): endpoint, headers, timeout, sampler (``OTEL_TRACES_SAMPLER``, the SDK's
``parentbased_always_on`` by default), batching (``OTEL_BSP_*``), ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` are read by the SDK as the specification says. Without
``OTEL_SERVICE_NAME`` each process names itself (``orders-api``, ``orders-relay``, …).

What is traced when on: the API's requests (FastAPI; health and metrics endpoints excluded),
PostgreSQL statements (psycopg, which the SQLAlchemy engine also runs on, so its statements are
traced once, at the driver; the write side's batched round trips get a span of their own in
``db/session.py`` that shows statement text, never values), Redis commands, OpenSearch (its
async client speaks aiohttp) and httpx calls.

The event's trace. The API makes the request's server span the ``traceparent`` stored in each
outbox row (``api/envelope.py``). The relay and the projectors carry it on: for each batch,
every event gets a span that is a child of its row's ``traceparent`` (``publish
orders.events``, ``apply summary``, …), so one trace shows checkout → relay → each read
model. The store calls a batch makes run under one batch span of its own, linked both ways
with the events' spans: a batch serves many traces at once, and its calls can be the child
of only one.

Workers' polling (claims that find nothing, blocking stream reads, heartbeats, lag exports)
would make a root trace of every poll: the worker loops run ``quiet()``, which suppresses the
client instrumentation outside the batch spans.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import context, trace
from opentelemetry.trace import Link, Span, Status, StatusCode
from opentelemetry.trace import SpanKind as SpanKind  # re-exported: the kinds callers name
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

EXPORTERS = ("otlp", "console")
_HTTP_PROTOBUF = "http/protobuf"
# Paths that are polled, not used: a span for each would drown the traces that matter.
DEFAULT_EXCLUDED_URLS = "/healthz$,/readyz$,/metrics$,/static/"
Attributes = Mapping[str, AttributeValue]
_W3C = TraceContextTextMapPropagator()


class _Instrumentor(Protocol):
    """What we use of an instrumentor (``BaseInstrumentor``'s module is untyped)."""

    def instrument(self, **kwargs: Any) -> None:
        """Patch the library's classes."""

    def uninstrument(self, **kwargs: Any) -> None:
        """Undo ``instrument``."""


@dataclass
class _Tracing:
    provider: TracerProvider
    tracer: trace.Tracer
    instrumentors: list[_Instrumentor] = field(default_factory=list)


_state: _Tracing | None = None  # set by configure() in a process that traces


def exporters_wanted(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The exporters the ``OTEL_*`` variables ask for; empty when tracing stays off.

    Raises ``ValueError`` naming the variable when it asks for what this service lacks.
    """
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ()
    named = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not named:
        endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        named = "otlp" if endpoint else "none"
    names = tuple(dict.fromkeys(n.strip() for n in named.split(",") if n.strip() != "none"))
    for name in names:
        if name not in EXPORTERS:
            raise ValueError(
                f"OTEL_TRACES_EXPORTER: unknown exporter {name!r}"
                f" (this service ships {', '.join(EXPORTERS)} and none)"
            )
    if "otlp" in names:
        for key in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
            protocol = environ.get(key, _HTTP_PROTOBUF).strip().lower()
            if protocol != _HTTP_PROTOBUF:
                raise ValueError(f"{key}: only {_HTTP_PROTOBUF} is supported, not {protocol!r}")
    return names


def configure(
    service_name: str,
    *,
    environ: Mapping[str, str] | None = None,
    processor: SpanProcessor | None = None,
) -> bool:
    """Turn tracing on for this process if the ``OTEL_*`` variables ask for it; True if on.

    Call it once at a process's start, before the store clients make their first connection.
    ``processor`` (tests: an in-memory exporter's) turns tracing on whatever the variables say.
    """
    global _state
    if _state is not None:
        return True
    env = os.environ if environ is None else environ
    names = exporters_wanted(env)
    if processor is None and not names:
        return False
    # Imported only here: a process that does not trace never loads the SDK.
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    # The SDK reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; ours is only a default.
    named = "OTEL_SERVICE_NAME" in env or "service.name=" in env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    resource = Resource.create({} if named else {SERVICE_NAME: service_name})
    provider = TracerProvider(resource=resource)
    for span_processor in [processor] if processor is not None else _processors(names):
        provider.add_span_processor(span_processor)
    trace.set_tracer_provider(provider)
    _state = _Tracing(provider, provider.get_tracer("orders_cqrs"), _instrument_clients(provider))
    return True


def _processors(names: Iterable[str]) -> list[SpanProcessor]:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    processors: list[SpanProcessor] = []
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processors.append(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            processors.append(BatchSpanProcessor(ConsoleSpanExporter()))
    return processors


def _instrument_clients(provider: TracerProvider) -> list[_Instrumentor]:
    """Patch the store clients' classes: every client, built before or after, is traced."""
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    instrumentors: list[_Instrumentor] = [
        PsycopgInstrumentor(),
        RedisInstrumentor(),
        AioHttpClientInstrumentor(),  # opensearch-py's async transport
        HTTPXClientInstrumentor(),
    ]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=provider)
    return instrumentors


def instrument_app(app: FastAPI) -> None:
    """Give each request of ``app`` a server span (continuing the caller's ``traceparent``)."""
    if _state is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    own = os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS") or os.environ.get(
        "OTEL_PYTHON_EXCLUDED_URLS"
    )
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_state.provider,
        excluded_urls=own or DEFAULT_EXCLUDED_URLS,
        exclude_spans=["receive", "send"],  # a span per ASGI message says nothing to ops
    )


def shutdown() -> None:
    """Export what is buffered, unpatch the clients, and trace nothing more in this process."""
    global _state
    state, _state = _state, None
    if state is None:
        return
    for instrumentor in state.instrumentors:
        instrumentor.uninstrument()
    state.provider.shutdown()


def active() -> bool:
    """Whether this process traces."""
    return _state is not None


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the active span, when this process traces and one is active."""
    if _state is None:
        return None
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}"
        f"-{int(span_context.trace_flags):02x}"
    )


@contextmanager
def quiet() -> Iterator[None]:
    """Suppress the client instrumentation in this task (a worker's polling loop); the batch
    spans below turn it back on for the work they cover."""
    if _state is None:
        yield
        return
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        yield


@contextmanager
def batch_spans(
    name: str,
    items: Iterable[tuple[str | None, Attributes]],
    *,
    kind: SpanKind,
    attributes: Attributes,
    start_ns: int | None = None,
) -> Iterator[list[Span]]:
    """A span per item, child of the item's ``traceparent``, and one ``"<name> batch"`` span,
    current for the block, under which the batch's store calls are traced.

    Yields the items' spans in order (empty when this process does not trace; ``items`` is
    then never iterated), so the caller can record each one's outcome. ``start_ns``: when the
    work began (the relay's claim, which runs before it knows whether there is any).
    """
    if _state is None:
        yield []
        return
    listed = list(items)
    if not listed:
        yield []
        return
    tracer = _state.tracer
    parents = [_W3C.extract({"traceparent": tp}) if tp else context.Context() for tp, _ in listed]
    links = [
        Link(span_context)
        for parent in parents
        if (span_context := trace.get_current_span(parent).get_span_context()).is_valid
    ]
    batch = tracer.start_span(
        f"{name} batch",
        context=context.Context(),  # a root: the batch belongs to no single event's trace
        kind=kind,
        attributes={**attributes, "messaging.batch.message_count": len(listed)},
        links=links,
        start_time=start_ns,
    )
    to_batch = [Link(batch.get_span_context())]
    spans = [
        tracer.start_span(
            name,
            context=parent,
            kind=kind,
            attributes={**attributes, **item},
            links=to_batch,
            start_time=start_ns,
        )
        for parent, (_, item) in zip(parents, listed, strict=True)
    ]
    # A fresh context, not the caller's: it holds the batch span and no suppression, so the
    # store calls in the block are traced even inside a worker's quiet() loop.
    token = context.attach(trace.set_span_in_context(batch, context.Context()))
    try:
        yield spans
    except Exception as error:
        for span in (batch, *spans):
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        raise
    finally:
        context.detach(token)
        ended = time.time_ns()
        for span in spans:
            span.end(ended)
        batch.end(ended)


@contextmanager
def statement_span(statements: list[str], attributes: Attributes) -> Iterator[None]:
    """A client span for one round trip of SQL statements (their text, never their values),
    unless this process does not trace or its instrumentation is suppressed here."""
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled

    if _state is None or not is_instrumentation_enabled():
        yield
        return
    first = statements[0].split(None, 1) if len(statements) == 1 else ["BATCH"]
    operation = first[0].upper() if first else "SQL"
    with _state.tracer.start_as_current_span(
        operation,
        kind=SpanKind.CLIENT,
        attributes={
            **attributes,
            "db.system": "postgresql",
            "db.system.name": "postgresql",
            "db.operation.name": operation,
            "db.operation.batch.size": len(statements),
            "db.query.text": ";\n".join(statements),
        },
    ):
        yield
