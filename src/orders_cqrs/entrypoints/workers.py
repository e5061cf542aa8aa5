"""Long-running workers (relay, projectors) with graceful SIGTERM handling and /metrics."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import structlog
from opensearchpy import AsyncOpenSearch

from orders_cqrs.bootstrap import Container
from orders_cqrs.bootstrap.readmodels import STREAM_PROJECTIONS
from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.failures.backoff import doubling, full_jitter, pause
from orders_cqrs.failures.stores import StoreError, StoreUnavailable
from orders_cqrs.observability import metrics, tracing
from orders_cqrs.observability.heartbeat import HEARTBEAT
from orders_cqrs.observability.worker_http import serve_worker_http
from orders_cqrs.readmodels.analytics.projection import NAME as ANALYTICS
from orders_cqrs.readmodels.analytics.schema import migrate
from orders_cqrs.readmodels.analytics.session import ClickHouseSession
from orders_cqrs.readmodels.engine import ProjectionEngine
from orders_cqrs.readmodels.search.index import IndexNames
from orders_cqrs.readmodels.search.projection import ensure_index, is_unavailable
from orders_cqrs.readmodels.status import group_lag
from orders_cqrs.relay.lag_export import export_forever
from orders_cqrs.write.payments.reconciler import ReconcileReport, reconcile

log = structlog.get_logger(__name__)

MAX_RECONCILE_BACKOFF = 30.0  # seconds: an outage is noticed within this once it is over


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT: the worker finishes its batch and exits."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def serve_metrics(host: str, port: int, *, stale_after: float) -> None:
    """Expose this process's metrics and ``/healthz`` on ``host:port`` (port 0 disables);
    ``/healthz`` fails once the worker's loop has not finished a round for ``stale_after`` s."""
    if port:
        serve_worker_http(host, port, stale_after=stale_after)


async def run_relay(container: Container, stop: asyncio.Event) -> None:
    """The relay until stopped, exporting every projection's lag measured from the stream
    (``relay/lag_export.py``: the series must outlive a dead projector)."""
    with tracing.quiet():  # only the batches are traced, not each poll (tracing.py)
        await _run_relay(container, stop)


async def _run_relay(container: Container, stop: asyncio.Event) -> None:
    settings = container.settings
    relay = container.relay()
    exporter = asyncio.create_task(
        export_forever(
            container.redis,
            settings.stream_name,
            sorted(STREAM_PROJECTIONS),
            settings.stream_retention_seconds,
            stop,
        )
    )
    log.info("relay_started", stream=settings.stream_name)
    try:
        await relay.run(stop)
    finally:
        exporter.cancel()
        await relay.close()


async def run_reconciler(
    container: Container,
    stop: asyncio.Event,
    *,
    older_than: timedelta,
    interval: float,
    on_pass: Callable[[ReconcileReport], None],
) -> None:
    """Reconcile every ``interval`` seconds until stopped.

    A pass that meets a store error (PostgreSQL restarting, unreachable, or too busy) is
    logged and tried again after a growing, jittered delay: pending attempts wait in the
    database, so nothing is lost by waiting, and the loop is the only thing that would
    finish them. The pool replaces the connections the outage broke.
    """
    log.info("reconciler_started", older_than=older_than.total_seconds(), interval=interval)
    with tracing.quiet():  # a pass that finds nothing is no trace (tracing.py)
        await _reconcile_until_stopped(container, stop, older_than, interval, on_pass)


async def _reconcile_until_stopped(
    container: Container,
    stop: asyncio.Event,
    older_than: timedelta,
    interval: float,
    on_pass: Callable[[ReconcileReport], None],
) -> None:
    failures = 0
    while not stop.is_set():
        try:
            report = await reconcile(
                container.executor,
                container.gateways,
                older_than=older_than,
                void_timeout_seconds=container.payment.timeout_seconds,
            )
        except StoreError as error:
            failures += 1
            delay = max(interval, full_jitter(failures, base=0.5, cap=MAX_RECONCILE_BACKOFF))
            log.warning(
                "reconcile_store_unavailable", error=str(error), failures=failures, retry_in=delay
            )
            await pause(stop, delay)
            continue
        failures = 0
        HEARTBEAT.beat()
        metrics.RECONCILER_STALE_ATTEMPTS.set(report.examined)
        metrics.RECONCILER_LAST_PASS_TIMESTAMP.set(time.time())
        on_pass(report)
        await pause(stop, interval)


async def run_projection(container: Container, name: str, stop: asyncio.Event) -> None:
    """One projection's engine until stopped, exporting its lag every few seconds.

    In the API process with chDB, the container's ClickHouse session is the one the
    dashboards read: one engine per process, shared by the projector task and the reads.
    """
    with tracing.quiet():  # only the batches are traced, not each poll (tracing.py)
        await _run_projection(container, name, stop)


async def _run_projection(container: Container, name: str, stop: asyncio.Event) -> None:
    settings = container.settings
    projections = container.projections
    if name not in projections:
        raise SystemExit(f"unknown projection {name!r}; known: {', '.join(projections)}")
    if name == "search":
        await _ensure_search_index(container.search, IndexNames(settings.search_alias), stop)
    session = container.clickhouse
    if name == ANALYTICS and session is not None:
        await prepare_analytics(session, stop)
    knobs = container.engine_settings
    if name == ANALYTICS:
        knobs = replace(knobs, batch_size=settings.analytics_batch_size)
    runner = ProjectionEngine(
        projections[name],
        container.redis,
        container.dead_letters,
        knobs,
        starter=container.backfill,  # a missing group: backfill from the outbox first
    )
    exporter = asyncio.create_task(_export_lag(runner, container.dead_letters, stop))
    log.info("projection_started", projection=name, consumer=runner.consumer)
    try:
        await runner.run(stop)
    finally:
        exporter.cancel()


def in_process_analytics(container: Container, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """What the API process runs for analytics beside serving requests.

    With chDB the engine lives inside one process, so the process that serves the dashboards
    must be the one that projects: the API runs the analytics projector as a task, on the
    container's session. With a server it only migrates the schema (a separate
    ``orders-cqrs project analytics`` process projects).
    """
    session = container.clickhouse
    if session is None:
        return []
    if session.in_process:
        return [asyncio.create_task(run_projection(container, ANALYTICS, stop))]
    return [asyncio.create_task(prepare_analytics(session, stop))]


async def prepare_analytics(session: ClickHouseSession, stop: asyncio.Event) -> None:
    """Migrate the analytics schema, waiting for ClickHouse (or a chDB path another process
    holds) with a slowly growing delay: it must never stop the process from serving."""
    failures = 0
    while not stop.is_set():
        delay = doubling(failures, base=0.5, cap=30.0)
        try:
            await migrate(session)
            return
        except StoreUnavailable as error:
            log.warning("analytics_store_unavailable", error=str(error)[:300], retry_in=delay)
        await pause(stop, delay)
        failures += 1


async def _export_lag(
    runner: ProjectionEngine, dead_letters: DeadLetterRepository, stop: asyncio.Event
) -> None:
    name = runner.group
    while not stop.is_set():
        try:
            events, seconds = await group_lag(runner.redis, runner.settings.stream, name)
            metrics.PROJECTION_LAG_EVENTS.labels(name).set(events)
            metrics.PROJECTION_LAG_SECONDS.labels(name).set(seconds)
            metrics.PROJECTION_DEAD_LETTERS.labels(name).set(await dead_letters.count_open(name))
        except Exception as error:  # lag export must never stop the projector
            log.warning("projection_lag_export_failed", projection=name, error=repr(error))
        await asyncio.sleep(2)


async def _ensure_search_index(
    search: AsyncOpenSearch, names: IndexNames, stop: asyncio.Event
) -> None:
    """Install the index template and alias, waiting for OpenSearch if it is not up yet."""
    failures = 0
    while not stop.is_set():
        try:
            await ensure_index(search, names)
            return
        except Exception as error:
            if not is_unavailable(error):
                raise
            log.warning("search_index_unavailable", error=repr(error))
            await pause(stop, doubling(failures, base=0.5, cap=5.0))
            failures += 1
