"""``orders-cqrs bench``: every phase in order, on the bench's own stores, then clean up.

Phases share one database so each figure and its reference see the same data and the same
machine state: capture → checkout (HTTP, pgbench, eventsourcing) → relay backlog →
projector backlog (+ chDB inserts) → rebuilds → freshness at half the maximum rate.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orders_cqrs.config import parse_api_keys
from orders_cqrs.tooling.bench import freshness as fresh
from orders_cqrs.tooling.bench import pipeline
from orders_cqrs.tooling.bench.capture import CAPTURED_SKU, capture_checkout, pgbench_script
from orders_cqrs.tooling.bench.chdb_jobs import run_job
from orders_cqrs.tooling.bench.checkout import measure_point
from orders_cqrs.tooling.bench.environment import (
    SKU_FIRST,
    SKU_LAST,
    BenchEnv,
    product_name,
    sku_name,
)
from orders_cqrs.tooling.bench.load import run_pgbench, tool, wrk_script
from orders_cqrs.tooling.bench.processes import Service, start_api, wait_for
from orders_cqrs.tooling.bench.search_scope import SearchScope, search_scope


@dataclass(frozen=True, slots=True)
class Plan:
    """How long and how big each phase is."""

    mode: str
    connections: tuple[int, ...]
    seconds: int
    backlog: int
    analytics_events: int
    freshness_seconds: int
    event_store: bool = True


SHORT = Plan("short", (8, 32), 4, 5_000, 5_000, 10)
FULL = Plan("full", (8, 32, 64), 20, 20_000, 100_000, 60)


class Bench:
    """One run; ``say`` prints a progress line."""

    def __init__(self, env: BenchEnv, plan: Plan, say: Callable[[str], None]) -> None:
        self.env, self.plan = env, plan
        self._started = time.monotonic()
        self._say = say
        self.results: dict[str, Any] = {"meta": self._meta(), "notes": []}
        self.workers = os.cpu_count() or 1
        self.search: SearchScope | None = None
        self.services: list[Service] = []

    def say(self, line: str) -> None:
        """A progress line with the elapsed time."""
        self._say(f"[{time.monotonic() - self._started:6.1f}s] {line}")

    def note(self, text: str) -> None:
        """Something the reader of the results must know."""
        self.results["notes"].append(text)
        self.say(f"note: {text}")

    def _meta(self) -> dict[str, Any]:
        return {
            "mode": self.plan.mode,
            "started": datetime.now(UTC).isoformat(),
            "cpus": os.cpu_count(),
            "machine": platform.platform(),
            "python": platform.python_version(),
        }

    def service(self, args: list[str], **settings: str) -> Service:
        """Start a worker process with the bench's environment."""
        started = Service(args, self.env.env(**self._search_env(), **settings)).start()
        self.services.append(started)
        return started

    def _search_env(self) -> dict[str, str]:
        return self.search.env if self.search is not None else {}

    def stop_all(self) -> None:
        """Stop every process the bench started."""
        for running in self.services:
            running.stop()
        self.services.clear()

    # ------------------------------------------------------------------------------ run

    def run(self) -> dict[str, Any]:
        """Every phase; the results (also on failure, as far as they got)."""
        try:
            self.setup()
            self.checkout()
            self.relay()
            self.projectors()
            self.rebuilds()
            self.freshness()
        finally:
            self.stop_all()
            if self.search is not None:
                self.search.cleanup()
            self.results["meta"]["seconds"] = time.monotonic() - self._started
        return self.results

    def setup(self) -> None:
        """Database, Redis DB, search scope; capture the checkout into a pgbench script."""
        self.say(
            f"creating {self.env.database} (alembic upgrade head), Redis DB {self.env.redis_db}"
        )
        self.env.create()
        self.search = search_scope(self.env.base)
        if not self.search.usable:
            self.note(f"search phases {self.search.reason}")
        self.say("capturing one checkout's SQL from the service's own unit of work")
        import asyncio

        client_id = parse_api_keys(f"checkout:{self.env.checkout_key}")[0].client_id
        sku = sku_name(CAPTURED_SKU)
        capture = asyncio.run(
            capture_checkout(self.env.settings(), client_id, sku, product_name(CAPTURED_SKU))
        )
        self.pgbench_script = self.env.scratch / "checkout.pgbench"
        self.pgbench_script.write_text(pgbench_script(capture, (SKU_FIRST, SKU_LAST)))
        self.results["capture"] = {"messages": len(capture.messages)}
        self.wrk_script = wrk_script(self.env.scratch / "checkout.lua", self.env.checkout_key)

    def checkout(self) -> None:
        """HTTP vs pgbench vs eventsourcing at each concurrency."""
        self.say(f"checkout: api --workers {self.workers}, relay, project summary")
        api = start_api(self.env.env(), self.env.api_url, self.workers)
        self.services.append(api)
        self.service(["relay"])
        self.service(["project", "summary"])
        points = []
        for connections in self.plan.connections:
            point = measure_point(
                dsn=self.env.dsn,
                api=api,
                api_url=self.env.api_url,
                wrk_script=self.wrk_script,
                pgbench_script=self.pgbench_script,
                connections=connections,
                seconds=self.plan.seconds,
                with_event_store=self.plan.event_store,
                say=self.say,
            )
            self.say(
                f"  c={connections}: {point.http.rate:,.0f} orders/s over HTTP,"
                f" {point.pgbench.tps:,.0f} tx/s pgbench"
            )
            points.append(point.as_dict())
        self.results["checkout"] = points
        self.say("  waiting for the relay to publish what the checkouts committed")
        wait_for(lambda: pipeline.unpublished(self.env.dsn) == 0, timeout=120, every=0.2)
        self.stop_all()

    def relay(self) -> None:
        """Backlog of N outbox rows (the captured checkout via pgbench), then the relay."""
        n = self.plan.backlog
        self.say(f"relay: {n:,} checkouts committed with the relay stopped (pgbench)")
        run_pgbench(self.env.dsn, self.pgbench_script, 4, transactions=n // 4)
        batch = self.env.settings().relay_batch_size
        floor = pipeline.relay_floor(self.env.dsn, batch)
        self.say(f"  claim+mark SQL alone: {floor.rate:,.0f} rows/s; now orders-cqrs relay")
        drained = pipeline.relay_drain(self.env.env(), self.env.dsn, timeout=600)
        self.say(f"  relay: {drained.rate:,.0f} events/s")
        self.results["relay"] = {"relay": drained.as_dict(), "floor": floor.as_dict()}

    def projectors(self) -> None:
        """summary and search from their backlog; analytics via the chDB insert benchmark."""
        client = self.env.redis()
        stream = self.env.stream
        try:
            settings = self.env.settings()
            floor = pipeline.consume_floor(client, stream, settings.projection_batch_size)
            self.say(f"projectors: read+ack alone {floor.rate:,.0f} events/s")
            out: dict[str, Any] = {"floor": floor.as_dict()}
            names = ["summary"] + (["search"] if self.search and self.search.usable else [])
            for name in names:
                drained = pipeline.projector_drain(
                    self.env.env(**self._search_env()), client, stream, name, timeout=600
                )
                self.say(f"  project {name}: {drained.events:,} events, {drained.rate:,.0f}/s")
                out[name] = drained.as_dict()
        finally:
            client.close()
        events = self.plan.analytics_events
        self.say(f"  analytics: {events:,} events into a throwaway chDB (bench-analytics)")
        out["analytics"] = run_job("insert", str(events), str(settings.analytics_batch_size))
        self.results["projectors"] = out

    def rebuilds(self) -> None:
        """Whole rebuild commands over the outbox, beside the fenced scan alone."""
        floor = pipeline.scan_floor(self.env.database_url)
        self.say(f"rebuilds: fenced outbox scan alone {floor.rate:,.0f} events/s")
        out: dict[str, Any] = {"floor": floor.as_dict()}
        names = ["summary"] + (["search"] if self.search and self.search.usable else [])
        for name in names:
            run = pipeline.rebuild_run(
                self.env.env(**self._search_env()), self.env.dsn, name, timeout=900
            )
            self.say(f"  rebuild {name}: {run.events:,} events in {run.seconds:.1f} s")
            out[name] = run.as_dict()
        self.results["rebuild"] = out

    def freshness(self) -> None:
        """Fixed-rate checkouts with the relay and all projectors; commit → visible."""
        best = max((p["http"]["rate"] for p in self.results.get("checkout", [])), default=0.0)
        target = max(1.0, best / 2)
        connections = 8
        delay_ms = max(1, round(connections / target * 1000))
        self.say(f"freshness: ~{target:,.0f} orders/s for {self.plan.freshness_seconds} s")
        self.note(
            "freshness: the API runs 1 worker with chDB in-process (analytics projector inside"
            " the API, which chDB requires); relay, summary and search run as processes"
        )
        client = self.env.redis()
        # The analytics group follows only this phase's orders: at the stream's end, whether
        # an earlier phase left it behind or not.
        if pipeline.group_state(client, self.env.stream, "analytics") is None:
            client.xgroup_create(self.env.stream, "analytics", id="$", mkstream=True)
        else:
            client.xgroup_setid(self.env.stream, "analytics", "$")
        chdb = f"chdb://{self.env.chdb_dir}"
        api = start_api(self.env.env(clickhouse_url=chdb), self.env.api_url, 1)
        self.services.append(api)
        self.service(["relay"])
        self.service(["project", "summary"])
        watch = None
        if self.search is not None and self.search.usable:
            self.service(["project", "search"])
            watch = fresh.SearchWatch(self.env.base.opensearch_url, self.search.alias, every=5)
        script = wrk_script(self.env.scratch / "rate.lua", self.env.checkout_key, delay_ms=delay_ms)

        def paced_wrk(seconds: int) -> subprocess.Popen[bytes]:
            return subprocess.Popen(  # noqa: S603 - argv built here, no shell
                [
                    tool("wrk"),
                    "-t1",
                    f"-c{connections}",
                    f"-d{seconds}s",
                    "-s",
                    str(script),
                    self.env.api_url,
                ],
                stdout=subprocess.DEVNULL,
            )

        # Warm-up, not measured: processes that are still importing or connecting would
        # show up as seconds of lag that no steady state has.
        paced_wrk(WARM_UP_SECONDS).wait()
        groups = ["summary", "analytics", *(["search"] if watch is not None else [])]
        for group in groups:
            wait_for(lambda g=group: pipeline.caught_up(client, self.env.stream, g), 60, 0.1)
        log = fresh.CommitLog(self.env.dsn)
        log.start()
        wrk = paced_wrk(self.plan.freshness_seconds)
        fresh.drive(log, watch, lambda: wrk.poll() is None, settle_seconds=15)
        achieved = len(log.committed) / max(self.plan.freshness_seconds, 1e-9)
        for group in ("summary", "analytics"):
            wait_for(lambda g=group: pipeline.caught_up(client, self.env.stream, g), 60, 0.1)
        out: dict[str, Any] = {"rate_target": target, "rate_achieved": achieved}
        out["summary"] = fresh.percentiles(fresh.summary_lags(client, log.committed))
        if watch is not None:
            out["search"] = fresh.percentiles(fresh.search_lags(watch, log.committed))
        client.close()
        self.stop_all()  # chDB's directory is free once the API is gone
        lags = run_job("freshness", str(self.env.chdb_dir))["lags"]
        out["analytics"] = fresh.percentiles(lags)
        self.results["freshness"] = out


WARM_UP_SECONDS = 3


def missing_tools() -> list[str]:
    """The load generators that are not installed (``make bench`` installs them)."""
    return [tool for tool in ("wrk", "pgbench") if shutil.which(tool) is None]
