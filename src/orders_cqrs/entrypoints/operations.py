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


def verify(
    wait: float = typer.Option(30.0, help="seconds to wait for the backlog to drain first"),
    projection: list[str] = typer.Option(  # noqa: B008 - typer's idiom for a repeatable option
        ["summary", "search"], help="read models to compare (repeat the option)"
    ),
) -> None:
    """Compare PostgreSQL with every read model; exit 1 on drift, 3 if the backlog never drained."""
    from orders_cqrs.readmodels.search.reader import SearchVersions
    from orders_cqrs.readmodels.summary.reader import SummaryVersions
    from orders_cqrs.tooling.verify import VersionProbe, backlog, compare, wait_for_drain

    async def main(container: Container) -> int:
        settings = container.settings
        known: dict[str, VersionProbe] = {
            "summary": SummaryVersions(container.redis),
            "search": SearchVersions(container.search, alias=settings.search_alias),
        }
        unknown = [name for name in projection if name not in known]
        if unknown:
            raise typer.BadParameter(f"unknown projection(s): {', '.join(unknown)}")
        probes = [known[name] for name in projection]
        drained = await wait_for_drain(
            lambda: backlog(container.event_log, container.redis, settings.stream_name, projection),
            wait,
        )
        drifts = await compare(container.lookups, probes)
        typer.echo(f"{'projection':12} {'checked':>8} {'missing':>8} {'behind':>8} {'ahead':>8}")
        for d in drifts:
            typer.echo(f"{d.projection:12} {d.checked:8} {d.missing:8} {d.behind:8} {d.ahead:8}")
            for example in d.examples:
                typer.echo(f"  {example}")
        if not drained:
            typer.echo("backlog not drained: differences may be lag, not drift")
            return 3
        return 0 if all(d.clean for d in drifts) else 1

    raise typer.Exit(with_container(main))


SESSION_BATCH = 1000  # expired console sessions deleted per transaction by ``cleanup``
REBUILD_REFUSED = 4  # exit code: a rebuild of that projection is running somewhere else
HISTORY_GONE = 5  # exit code: the event log no longer holds every order (archive pruned)


def rebuild(
    name: str = typer.Argument(..., help="summary | search"),
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
    """Delete expired idempotency receipts and console sessions, archive published outbox rows
    past the retention (and prune the archive if it has one), then remove dead rebuilds'
    consumer groups; all in bounded batches. Run it periodically (cron, a timer, ``--every``)."""
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
    with_container(_archive_outbox)
    removed = with_container(groups)
    named = f": {', '.join(removed)}" if removed else ""
    typer.echo(f"removed {len(removed)} consumer group(s) of rebuilds that died{named}")


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
