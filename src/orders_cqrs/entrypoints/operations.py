"""One-shot operations of the CLI: verify, rebuild, dead letters, cleanup and the benchmarks.

Each opens what it needs through the composition root (``bootstrap.open_container``) and
closes it when done; none of them builds a client of its own.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from orders_cqrs.bootstrap import Container, open_container
from orders_cqrs.config import get_settings
from orders_cqrs.failures.refusals import HistoryGone
from orders_cqrs.failures.stores import StoreUnavailable

T = TypeVar("T")

CHDB_IN_PROCESS = (
    "chDB is in-process: the API process projects analytics (orders-cqrs api runs the"
    " analytics projector when ORDERS_CLICKHOUSE_URL is chdb://). Point ORDERS_CLICKHOUSE_URL"
    " at a ClickHouse server (http://host:8123/db) to run a separate analytics projector."
)


def with_container(work: Callable[[Container], Awaitable[T]], *, commands: bool = False) -> T:
    """Run ``work`` on a container opened from the environment's settings, then close it."""

    async def main() -> T:
        async with open_container(get_settings(), commands=commands) as container:
            return await work(container)

    return asyncio.run(main())


def refuse_chdb_outside_api(name: str) -> None:
    """A second process cannot open the API's chDB directory: say so instead of retrying."""
    if name == "analytics" and get_settings().clickhouse_url.startswith("chdb://"):
        typer.echo(CHDB_IN_PROCESS, err=True)
        raise typer.Exit(2)


CHDB_HELD = (
    "cannot open the chDB directory of {url}: another process holds it (chDB is in-process,"
    " and the API projects analytics when ORDERS_CLICKHOUSE_URL is chdb://). {what}"
)


async def chdb_held(container: Container, what: str) -> str | None:
    """Why this process cannot use analytics, when its chDB directory is another's; else None.

    chDB hosts one engine per directory and process: while the API runs, only the API can
    read or rebuild analytics. Opening the engine is how to find out (it fails at once).
    """
    session = container.clickhouse
    if session is None or not session.in_process:
        return None
    try:
        await session.query("SELECT 1")
    except StoreUnavailable:
        return CHDB_HELD.format(url=session.url, what=what)
    return None


def verify(
    wait: float = typer.Option(30.0, help="seconds to wait for the backlog to drain first"),
    projection: list[str] = typer.Option(  # noqa: B008 - typer's idiom for a repeatable option
        None,
        help="read models to compare (repeat the option); default summary, search and"
        " analytics when ORDERS_CLICKHOUSE_URL is set",
    ),
    metrics_file: Path = typer.Option(  # noqa: B008
        None, help="also write the drift gauges here (Prometheus text, for a textfile collector)"
    ),
) -> None:
    """Compare PostgreSQL with every read model; exit 1 on drift, 3 if what differs may still
    be in flight (the backlog never drained and nothing is older than the freshness SLO)."""
    from orders_cqrs.tooling.verify import Freshness, VersionProbe, backlog, compare
    from orders_cqrs.tooling.verify import wait_for_drain as drained_at

    async def main(container: Container) -> int:
        settings = container.settings
        chosen = projection or ["summary", "search"] + (
            ["analytics"] if container.clickhouse is not None else []
        )
        known = _version_probes(container)
        unknown = [name for name in chosen if name not in known]
        if unknown:
            raise typer.BadParameter(f"unknown projection(s): {', '.join(unknown)}")
        if "analytics" in chosen and (held := await chdb_held(container, CHDB_VERIFY)):
            typer.echo(held, err=True)
            if projection:
                return 2  # asked for by name: not comparing it is no answer
            chosen.remove("analytics")  # by default: compare the others, and say so
        probes: list[VersionProbe] = [known[name] for name in chosen]
        lookups, stream = container.lookups, settings.stream_name
        settled = await drained_at(
            lambda: backlog(container.event_log, lookups, container.redis, stream, chosen), wait
        )
        freshness = Freshness(settings.freshness_slo_seconds, settled)
        drifts = await compare(lookups, probes, freshness)
        _print_drifts(drifts)
        if metrics_file is not None:
            _write_drift_metrics(drifts, metrics_file)
        if not all(d.clean for d in drifts):
            return 1
        if settled is None and any(d.in_flight for d in drifts):
            typer.echo("backlog not drained: orders in flight may still arrive")
            return 3
        return 0

    raise typer.Exit(with_container(main))


SESSION_BATCH = 1000  # expired console sessions deleted per transaction by ``cleanup``
CHDB_VERIFY = "Verify analytics while that process is stopped, or against a ClickHouse server."


def _version_probes(container: Container) -> dict[str, Any]:
    """The read models ``verify`` can compare, by name (analytics when ClickHouse is set)."""
    from orders_cqrs.readmodels.analytics.versions import AnalyticsVersions
    from orders_cqrs.readmodels.search.reader import SearchVersions
    from orders_cqrs.readmodels.summary.reader import SummaryVersions

    probes: dict[str, Any] = {
        "summary": SummaryVersions(container.redis),
        "search": SearchVersions(container.search, alias=container.settings.search_alias),
    }
    if container.clickhouse is not None:
        probes["analytics"] = AnalyticsVersions(container.clickhouse)
    return probes


def _print_drifts(drifts: list[Any]) -> None:
    """One line per read model: what differs beyond the SLO, and what is in flight."""
    columns = ("checked", "missing", "behind", "ahead", "status", "in_flight")
    typer.echo(f"{'projection':12} " + " ".join(f"{c:>9}" for c in columns))
    for d in drifts:
        typer.echo(f"{d.projection:12} " + " ".join(f"{getattr(d, c):9}" for c in columns))
        for example in d.examples:
            typer.echo(f"  {example}")


def _write_drift_metrics(drifts: list[Any], path: Path) -> None:
    """The drift gauges, for node_exporter's textfile collector (an alert reads them)."""
    import time

    from prometheus_client import write_to_textfile

    from orders_cqrs.observability import metrics

    for d in drifts:
        metrics.VERIFY_DRIFTED_ORDERS.labels(d.projection).set(
            d.missing + d.behind + d.ahead + d.status
        )
        metrics.VERIFY_IN_FLIGHT_ORDERS.labels(d.projection).set(d.in_flight)
    metrics.VERIFY_COMPLETED_SECONDS.set(time.time())
    write_to_textfile(str(path), metrics.VERIFY_REGISTRY)


REBUILD_REFUSED = 4  # exit code: a rebuild of that projection is running somewhere else
HISTORY_GONE = 5  # exit code: the event log no longer holds every order (archive pruned)
CHDB_REBUILD = (
    "Rebuild analytics in that process instead: POST /v1/projections/analytics/rebuild"
    " (or stop it and run this command again)."
)


def rebuild(
    name: str = typer.Argument(..., help="summary | search | analytics"),
    keep_old: bool = typer.Option(False, help="keep the previous generation"),
) -> None:
    """Rebuild a projection from the outbox into a new generation, then switch readers to it.

    One rebuild per projection runs at a time across every process and machine: if another is
    running (this CLI elsewhere, or one started over HTTP), this one changes nothing, says who
    holds it and exits with 4. If pruning the outbox archive left orders without their latest
    event, it changes nothing, says so and exits with 5.
    """
    from orders_cqrs.readmodels.rebuild import RebuildReport
    from orders_cqrs.readmodels.rebuild import rebuild as run_rebuild

    async def main(container: Container) -> RebuildReport | str:
        try:
            target = container.rebuild_target(name)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from error
        if name == "analytics" and (held := await chdb_held(container, CHDB_REBUILD)):
            typer.echo(held, err=True)
            raise typer.Exit(2)
        lease = await container.rebuilds.acquire(name, started_by=f"cli {_whoami()}")
        if lease is None:
            return await container.rebuilds.refusal(name)
        bar: Any = None

        def on_total(total: int) -> None:
            nonlocal bar
            bar = typer.progressbar(length=total, label=f"rebuilding {name} from the outbox")
            bar.__enter__()

        async with lease:
            try:
                return await run_rebuild(
                    target,
                    container.event_log,
                    container.redis,
                    container.dead_letters,
                    container.engine_settings,
                    lease=lease,
                    on_total=on_total,
                    on_progress=lambda n: bar.update(n) if bar is not None else None,
                    drop_old=not keep_old,
                )
            finally:
                if bar is not None:
                    bar.__exit__(None, None, None)

    try:
        report = with_container(main)
    except HistoryGone as gone:
        typer.echo(f"refused: {gone.detail}", err=True)
        raise typer.Exit(HISTORY_GONE) from None
    if isinstance(report, str):
        typer.echo(f"refused: {report}; nothing was changed", err=True)
        raise typer.Exit(REBUILD_REFUSED)
    typer.echo(
        f"{name} rebuilt: {report.old_namespace} → {report.new_namespace},"
        f" {report.scanned} events from the outbox, {report.caught_up} from the stream"
    )
    if report.dead_lettered:
        typer.echo(
            f"{report.dead_lettered} event(s) refused by the new generation were dead-lettered:"
            f" orders-cqrs dead-letters list {name}"
        )


def _whoami() -> str:
    """user@host pid N: who holds a rebuild, as other processes show it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


dead_letters_app = typer.Typer(no_args_is_help=True, help="List and replay dead letters.")


@dead_letters_app.command("list")
def dead_letters_list(name: str = typer.Argument(..., help="projection name")) -> None:
    """Open dead letters of a projection, with their errors."""
    letters = with_container(lambda container: container.dead_letters.list_for(name))
    typer.echo(f"{len(letters)} open dead letter(s) for {name}")
    for letter in letters:
        typer.echo(
            f"  #{letter.id} {letter.event_type} {letter.aggregate_id}"
            f" v{letter.aggregate_version} attempts={letter.attempts}: {letter.error[:200]}"
        )


@dead_letters_app.command("replay")
def dead_letters_replay(
    name: str = typer.Argument(..., help="projection name"),
    ids: list[int] = typer.Option(None, "--id", help="only these dead letters (repeatable)"),  # noqa: B008
) -> None:
    """Apply dead letters again once their cause is fixed; failures stay parked."""
    from orders_cqrs.readmodels.engine import replay_dead_letters

    refuse_chdb_outside_api(name)  # replay over HTTP instead: POST …/dead-letters/replay

    async def main(container: Container) -> tuple[int, int]:
        if name not in container.projections:
            raise typer.BadParameter(f"unknown projection {name!r}")
        return await replay_dead_letters(
            container.projections[name], container.dead_letters, list(ids) if ids else None
        )

    replayed, failing = with_container(main)
    typer.echo(f"replayed {replayed}, still failing {failing}")
    raise typer.Exit(0 if failing == 0 else 1)


def cleanup(
    every: float = typer.Option(
        0.0, min=0, help="run again every N seconds until stopped (0: once)"
    ),
) -> None:
    """Delete expired idempotency receipts, console sessions and sign-in throttle windows,
    archive published outbox rows past the retention (and prune the archive if it has one),
    then remove dead rebuilds' consumer groups; all in bounded batches. Run it periodically
    (cron, a timer, ``--every``)."""
    while True:
        _cleanup_once()
        if every <= 0:
            return
        time.sleep(every)


def _cleanup_once() -> None:
    from orders_cqrs.readmodels.stream_groups import orphaned_groups, remove_groups

    async def receipts(container: Container) -> int:
        total = 0
        while True:
            async with container.executor.uow_factory() as uow:
                removed = await uow.receipts.delete_expired()
                await uow.commit()
            total += removed
            if removed == 0:
                return total

    async def groups(container: Container) -> list[str]:
        # Only rebuild groups whose rebuild is not running anywhere (its lease is free): a
        # group of a projection this code does not know may be another deployment's.
        stream = container.settings.stream_name
        orphans = await orphaned_groups(
            container.redis, stream, container.rebuilds.running_groups, rebuilds_only=True
        )
        await remove_groups(container.redis, stream, orphans)
        return orphans

    async def sessions(container: Container) -> int:
        # Batches in their own short transactions: sign-ins never wait behind a long delete.
        total = 0
        while removed := await container.session_store.delete_expired(SESSION_BATCH):
            total += removed
        return total

    typer.echo(f"removed {with_container(receipts, commands=True)} expired idempotency receipts")
    typer.echo(f"removed {with_container(sessions)} expired console sessions")
    typer.echo(f"removed {with_container(_ended_throttles)} ended sign-in throttle windows")
    with_container(_archive_outbox)
    removed = with_container(groups)
    named = f": {', '.join(removed)}" if removed else ""
    typer.echo(f"removed {len(removed)} consumer group(s) of rebuilds that died{named}")


async def _ended_throttles(container: Container) -> int:
    """Sign-in attempt counts whose window is over (bounded batches, short transactions)."""
    total = 0
    while removed := await container.login_throttle.delete_ended(SESSION_BATCH):
        total += removed
    return total


async def _archive_outbox(container: Container) -> None:
    """Archive, then prune the archive if it has a retention; one line of progress a batch."""
    settings, archive = container.settings, container.outbox_archive
    done = {"archived": 0, "pruned": 0}

    def progress(kind: str) -> Callable[[int], None]:
        def show(count: int) -> None:
            done[kind] += count
            typer.echo(f"  {kind} {count:,} outbox rows ({done[kind]:,} so far)")

        return show

    archived = await archive.archive(settings.outbox_retention_seconds, progress("archived"))
    typer.echo(f"archived {archived} published outbox rows")
    if settings.outbox_archive_retention_seconds is not None:
        pruned = await archive.prune(settings.outbox_archive_retention_seconds, progress("pruned"))
        typer.echo(f"pruned {pruned} archived outbox rows for good")


def bench_analytics(
    events: int = typer.Option(100_000, min=1, help="synthetic events to project"),
    batch_size: int = typer.Option(
        None, min=1, help="events per apply; default ORDERS_ANALYTICS_BATCH_SIZE"
    ),
    url: str = typer.Option(
        None, help="ClickHouse URL; default a throwaway chDB directory (never your data)"
    ),
) -> None:
    """Measure the analytics projection's insert throughput (events/s, lookups included)."""
    from orders_cqrs.tooling.bench.analytics import run_bench

    size = batch_size or get_settings().analytics_batch_size
    with typer.progressbar(length=events, label="projecting synthetic events") as bar:
        report = asyncio.run(run_bench(events, size, url=url, on_progress=bar.update))
    typer.echo(
        f"{report.events} events in batches of {report.batch_size}: {report.seconds:.2f} s,"
        f" {report.rate:,.0f} events/s ({report.orders} orders, {report.event_rows} event rows)"
    )


def bench(
    short: bool = typer.Option(False, "--short", help="quick check (under 3 minutes)"),
    out: Path = typer.Option(  # noqa: B008 - typer's idiom for a path option
        Path("bench-results"), help="directory for results.json and results.png"
    ),
    compare: Path = typer.Option(  # noqa: B008
        None, exists=True, dir_okay=False, help="an earlier results.json: print deltas"
    ),
    keep: bool = typer.Option(False, help="keep the bench database, Redis DB and scratch files"),
    database: str = typer.Option("orders_bench", help="the bench's own database (recreated)"),
    redis_db: int = typer.Option(9, min=0, max=15, help="the bench's own Redis DB index"),
    stream: str = typer.Option("orders.bench.events", help="the bench's own stream name"),
    port: int = typer.Option(18080, help="port of the bench's API process"),
) -> None:
    """Checkout, relay, projection, rebuild and freshness figures beside same-run baselines."""
    from orders_cqrs.tooling.bench.main import run_and_report

    raise typer.Exit(
        run_and_report(
            short=short,
            out=out,
            compare=compare,
            keep=keep,
            database=database,
            redis_db=redis_db,
            stream=stream,
            port=port,
        )
    )


def register_operations(app: typer.Typer) -> None:
    """Add the one-shot operations to the CLI."""
    app.command()(verify)
    app.command()(rebuild)
    app.add_typer(dead_letters_app, name="dead-letters")
    app.command()(cleanup)
    app.command("bench-analytics")(bench_analytics)
    app.command()(bench)
