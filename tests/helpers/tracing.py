"""Tracing in the test process: spans recorded in memory, and the process left as it was.

OpenTelemetry lets a process set its global tracer provider once; the suites configure and
shut tracing down several times in one process, so ``forget_global_provider`` puts the
global back the way OpenTelemetry's own test utilities do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from orders_cqrs.observability import tracing


def forget_global_provider() -> None:
    """Back to the API's proxy provider, as if no provider had ever been set."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


@contextmanager
def recorded_spans(service_name: str = "orders-test") -> Iterator[InMemorySpanExporter]:
    """Trace this process into memory (exported as each span ends) for the block."""
    exporter = InMemorySpanExporter()
    assert tracing.configure(service_name, environ={}, processor=SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        tracing.shutdown()
        forget_global_provider()


def traceparent_of(span: ReadableSpan) -> str:
    """The W3C traceparent naming ``span`` (sampled)."""
    assert span.context is not None
    return f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-01"


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    """The spans called ``name``."""
    return [span for span in spans if span.name == name]


def children_of(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    """Every span below ``parent``, at any depth."""
    assert parent.context is not None
    below: list[ReadableSpan] = []
    frontier = {parent.context.span_id}
    while frontier:
        found = [s for s in spans if s.parent is not None and s.parent.span_id in frontier]
        below += found
        frontier = {s.context.span_id for s in found if s.context is not None}
    return below
