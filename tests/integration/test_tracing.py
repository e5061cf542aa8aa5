"""One trace from a checkout through the relay to the read models; and no tracing unless asked.

In-process: the real app (ASGI) on the real stores, then the relay and the summary projector
on the app's own container, as the ``dev`` process runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis.asyncio
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from orders_cqrs.bootstrap import Container, open_container
from orders_cqrs.config import Settings
from orders_cqrs.entrypoints.app import create_app
from orders_cqrs.observability import tracing
from orders_cqrs.readmodels.engine import ProjectionEngine
from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, headers, order_body, put_product
from tests.helpers.processes import ApiServer, worker_env
from tests.helpers.stores import ROOT, TEST_REDIS_URL
from tests.helpers.stream_checks import stream_client, summary_group_from_the_start
from tests.helpers.tracing import children_of, named, recorded_spans, traceparent_of
from tests.helpers.waiting import wait_until_projected

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
CALLER = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
SKU = "SKU-TRACE"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """This process traces into memory for the test, and not after it."""
    with recorded_spans() as exporter:
        yield exporter


@pytest.fixture
def no_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of a process started without any OTEL_* variable."""
    for key in list(os.environ):
        if key.startswith("OTEL_"):
            monkeypatch.delenv(key)


@asynccontextmanager
async def serving(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    """The API app, its lifespan run, with a client that calls it in-process."""
    settings = Settings(
        environment="test", database_url=database_url, redis_url=TEST_REDIS_URL, clickhouse_url=""
    )
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client, app.state.container


async def checkout(client: httpx.AsyncClient, traceparent: str) -> str:
    """Stock a product, then place an order of it under ``traceparent``; the order's id."""
    stocked = await client.put(
        f"/v1/inventory/{SKU}",
        json={"name": "Mug", "unit_price": {"amount": 1000, "currency": "EUR"}, "on_hand": 5},
        headers=headers(OPS_KEY, str(uuid.uuid4())),
    )
    assert stocked.status_code in (200, 201), stocked.text
    placed = await client.post(
        "/v1/orders",
        json=order_body(items=[(SKU, 1)]),
        headers=headers(CHECKOUT_KEY, str(uuid.uuid4()), traceparent=traceparent),
    )
    assert placed.status_code == 201, placed.text
    return str(placed.json()["order_id"])


async def relay_then_project(container: Container) -> None:
    """Publish what the outbox holds, then apply it to the summary, as the workers would."""
    relay = container.relay()
    try:
        assert await relay.publish_batch() >= 1
    finally:
        await relay.close()
    engine = ProjectionEngine(
        container.projections["summary"],
        container.redis,
        container.dead_letters,
        container.engine_settings,
    )
    await engine.run_until_idle()


def stored_traceparent(db: psycopg.Connection[Any], order_id: str) -> str:
    row = db.execute(
        "SELECT headers->>'traceparent' FROM outbox WHERE aggregate_id = %s", (order_id,)
    ).fetchone()
    assert row is not None
    return str(row[0])


def the_one(spans: list[ReadableSpan], what: str) -> ReadableSpan:
    assert len(spans) == 1, f"{what}: {[s.name for s in spans]}"
    return spans[0]


def parent_id(span: ReadableSpan) -> int:
    assert span.parent is not None, span.name
    return span.parent.span_id


async def test_one_trace_runs_from_the_checkout_through_the_relay_to_the_summary(
    db: psycopg.Connection[Any], database_url: str, spans: InMemorySpanExporter
) -> None:
    async with serving(database_url) as (client, container):
        order_id = await checkout(client, CALLER)
        await relay_then_project(container)
        read = await client.get(
            f"/v1/orders/{order_id}",
            params={"min_version": 1},
            headers=headers(CHECKOUT_KEY, traceparent=CALLER),
        )
        assert read.status_code == 200, read.text
    finished = list(spans.get_finished_spans())
    in_trace = [s for s in finished if s.context and f"{s.context.trace_id:032x}" == CALLER_TRACE]

    # The checkout's server span continues the caller's trace, and is what the outbox stored.
    servers = [s for s in in_trace if s.kind == SpanKind.SERVER]
    request = the_one([s for s in servers if s.name == "POST /v1/orders"], "checkout span")
    assert f"{parent_id(request):016x}" == CALLER_SPAN
    assert stored_traceparent(db, order_id) == traceparent_of(request)

    # The checkout's SQL ran under it (the write side's batched round trips included).
    below_request = children_of(finished, request)
    sql = [s for s in below_request if (s.attributes or {}).get("db.system") == "postgresql"]
    assert any("INSERT INTO outbox" in str((s.attributes or {}).get("db.query.text")) for s in sql)

    # The relay's publish span and the summary's apply span are children of the stored span.
    publish = the_one(named(in_trace, "publish orders.events"), "publish span")
    apply = the_one(named(in_trace, "apply summary"), "apply span")
    assert request.context is not None
    assert parent_id(publish) == parent_id(apply) == request.context.span_id
    assert publish.kind == SpanKind.PRODUCER and apply.kind == SpanKind.CONSUMER
    assert (publish.attributes or {})["orders.event_type"] == "OrderPlaced"
    assert (apply.attributes or {})["orders.projection.outcome"] == "applied"

    # Each batch's store calls ran under a batch span of its own, linked both ways: to the
    # traces of its events, and from each event's span.
    for event_span in (publish, apply):
        batch = the_one(named(finished, f"{event_span.name} batch"), "batch span")
        assert any(link.context == batch.context for link in event_span.links)
        assert request.context.span_id in {link.context.span_id for link in batch.links}
        calls = children_of(finished, batch)
        assert any((s.attributes or {}).get("db.system") == "redis" for s in calls), calls
    relay_batch = the_one(named(finished, "publish orders.events batch"), "relay batch")
    assert any(s.name == "COMMIT" for s in children_of(finished, relay_batch))

    # The read that followed (same caller trace) asked Redis under its own server span.
    read_span = the_one([s for s in servers if s.name == "GET /v1/orders/{order_id}"], "read")
    below_read = children_of(finished, read_span)
    assert any((s.attributes or {}).get("db.system") == "redis" for s in below_read)


async def test_without_otel_variables_nothing_is_traced_and_the_pipeline_works(
    db: psycopg.Connection[Any], database_url: str, no_otel_variables: None
) -> None:
    assert tracing.configure("orders-relay") is False
    assert not tracing.active()
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    # No client is patched: the hot paths run exactly the code they run without OpenTelemetry.
    assert not hasattr(redis.asyncio.Redis.execute_command, "__wrapped__")
    assert not hasattr(psycopg.AsyncConnection.connect, "__wrapped__")

    async with serving(database_url) as (client, container):
        order_id = await checkout(client, CALLER)
        await relay_then_project(container)
        read = await client.get(
            f"/v1/orders/{order_id}", params={"min_version": 1}, headers=headers(CHECKOUT_KEY)
        )
    assert read.status_code == 200 and read.json()["version"] == 1, read.text
    assert stored_traceparent(db, order_id) == CALLER  # the caller's, as before tracing existed
    assert trace.get_current_span() is trace.INVALID_SPAN


def console_spans(output: bytes) -> list[dict[str, Any]]:
    """The spans a process printed with ``OTEL_TRACES_EXPORTER=console`` (JSON, one by one)."""
    text, decoder, found, at = output.decode(), json.JSONDecoder(), [], 0
    while (start := text.find("{", at)) != -1:
        span, at = decoder.raw_decode(text, start)
        found.append(span)
    return found


def test_each_process_started_with_otel_variables_traces_its_part_of_the_checkout(
    db: psycopg.Connection[Any], database_url: str, tmp_path: Path
) -> None:
    """The real ``api``, ``relay`` and ``project summary`` processes, configured only by
    OTEL_* variables: each prints its spans, all in the caller's trace."""
    summary_group_from_the_start(stream_client())
    otel = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "100"}
    env = {**os.environ, **worker_env(database_url, {}), **otel}
    outputs = {name: tmp_path / f"{name}.out" for name in ("api", "relay", "project")}
    api = ApiServer(env={**worker_env(database_url, {}), **otel}, out=outputs["api"].open("wb"))
    api.start()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "orders_cqrs.entrypoints.cli", *args],
            cwd=ROOT,
            env=env,
            stdout=outputs[args[0]].open("wb"),
            stderr=subprocess.DEVNULL,
        )
        for args in (["relay"], ["project", "summary"])
    ]
    try:
        put_product(api.url, SKU, on_hand=5)
        placed = httpx.post(
            f"{api.url}/v1/orders",
            json=order_body(items=[(SKU, 1)]),
            headers=headers(CHECKOUT_KEY, str(uuid.uuid4()), traceparent=CALLER),
        )
        assert placed.status_code == 201, placed.text
        wait_until_projected(api.url, placed.json()["order_id"], 1, seconds=30)
    finally:
        for worker in workers:
            worker.terminate()  # graceful: the spans still buffered are exported at exit
            worker.wait(timeout=30)
        api.stop()

    def traced(name: str) -> list[str]:
        return [
            span["name"]
            for span in console_spans(outputs[name].read_bytes())
            if span["context"]["trace_id"] == f"0x{CALLER_TRACE}"
        ]

    assert "POST /v1/orders" in traced("api")
    assert "publish orders.events" in traced("relay")
    assert "apply summary" in traced("project")


async def test_opensearch_calls_are_traced_under_the_span_that_makes_them(
    database_url: str, spans: InMemorySpanExporter
) -> None:
    """The support index's client speaks aiohttp; its requests are client spans."""
    settings = Settings(environment="test", database_url=database_url, clickhouse_url="")
    tracer = trace.get_tracer("tests")
    async with open_container(settings) as container:
        with tracer.start_as_current_span("support search"):
            await container.search.info()
    finished = spans.get_finished_spans()
    below = children_of(finished, the_one(named(finished, "support search"), "caller"))
    assert any(s.kind == SpanKind.CLIENT and s.name.startswith("GET") for s in below), below
