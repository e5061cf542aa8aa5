"""orders-cqrs: the command API, workers (relay, projectors), and operations tooling."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
import uvicorn
import uvloop

from orders_cqrs.config import get_settings
from orders_cqrs.observability.logging import configure_logging

app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help=__doc__
)


def _alembic_dir() -> Path:
    for base in (Path(__file__).resolve().parents[3], Path.cwd()):
        if (base / "alembic" / "env.py").exists():
            return base / "alembic"
    raise typer.BadParameter("cannot find the alembic/ directory")


@app.command()
def migrate() -> None:
    """Upgrade the database named by ORDERS_DATABASE_URL to the newest schema."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_alembic_dir()))
    config.attributes["database_url"] = get_settings().database_url
    command.upgrade(config, "head")
    typer.echo("schema at head")


@app.command()
def api(
    workers: int = typer.Option(
        None, min=1, max=64, help="worker processes; default ORDERS_API_WORKERS, else one per CPU"
    ),
) -> None:
    """Serve the HTTP API on ORDERS_HOST:ORDERS_PORT."""
    from orders_cqrs.observability.multiprocess import prepare_metrics_dir

    settings = get_settings()
    count = workers or settings.api_workers or os.cpu_count() or 1
    if count > 1 and settings.clickhouse_url.startswith("chdb://"):
        # chDB's engine lives inside one process, and the process that serves dashboards
        # must be the one that projects analytics: several workers cannot share it.
        typer.echo(
            "ORDERS_CLICKHOUSE_URL is chdb:// (in-process): serving with one worker;"
            " point it at a ClickHouse server to run several.",
            err=True,
        )
        count = 1
    if count > 1:
        prepare_metrics_dir()  # before the workers start: they inherit the environment
    _serve("orders_cqrs.entrypoints.app:create_app", workers=count)


def _serve(factory: str, *, workers: int = 1) -> None:
    settings = get_settings()
    configure_logging(json=settings.environment == "production")
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@app.command()
def seed() -> None:
    """Load the demo catalogue (idempotent: it sets the same stock every time)."""
    from orders_cqrs.tooling.demo import seed_demo_products

    count = asyncio.run(seed_demo_products(get_settings()))
    typer.echo(f"{count} demo products in stock")


@app.command()
def dev() -> None:
    """Laptop mode: seed demo products, print dev keys, serve API + relay + projectors."""
    from orders_cqrs.config import DEV_API_KEYS

    settings = get_settings()
    seed()
    if settings.api_keys == DEV_API_KEYS:
        typer.echo("dev API keys (Authorization: Bearer <key>):")
        for pair in DEV_API_KEYS.split(","):
            role, key = pair.split(":", 1)
            typer.echo(f"  {role:9} {key}")
    typer.echo(
        f"serving on http://{settings.host}:{settings.port} with the relay and projectors"
        " in-process  (Ctrl-C stops)"
    )
    _serve("orders_cqrs.entrypoints.app:create_dev_app")


@app.command()
def relay() -> None:
    """Publish committed outbox rows to the Redis stream (several may run at once)."""
    from orders_cqrs.entrypoints.workers import run_relay, serve_metrics, stop_on_signals

    settings = get_settings()
    configure_logging(json=settings.environment == "production")
    serve_metrics(settings.metrics_host, settings.relay_metrics_port)

    async def main() -> None:
        await run_relay(settings, stop_on_signals())

    uvloop.run(main())  # the event loop the API runs on too: less CPU per wake-up


CHDB_IN_PROCESS = (
    "chDB is in-process: the API process projects analytics (orders-cqrs api runs the"
    " analytics projector when ORDERS_CLICKHOUSE_URL is chdb://). Point ORDERS_CLICKHOUSE_URL"
    " at a ClickHouse server (http://host:8123/db) to run a separate analytics projector."
)


def _refuse_chdb_outside_api(name: str) -> None:
    """A second process cannot open the API's chDB directory: say so instead of retrying."""
    if name == "analytics" and get_settings().clickhouse_url.startswith("chdb://"):
        typer.echo(CHDB_IN_PROCESS, err=True)
        raise typer.Exit(2)


@app.command()
def project(name: str = typer.Argument(..., help="summary | search | analytics")) -> None:
    """Run one projection's consumer (graceful on SIGTERM: finish the batch, ack, exit)."""
    from orders_cqrs.entrypoints.workers import run_projection, serve_metrics, stop_on_signals

    _refuse_chdb_outside_api(name)
    settings = get_settings()
    configure_logging(json=settings.environment == "production")
    serve_metrics(settings.metrics_host, settings.projection_metrics_port)

    async def main() -> None:
        await run_projection(settings, name, stop_on_signals())

    uvloop.run(main())


@app.command()
def verify(
    wait: float = typer.Option(30.0, help="seconds to wait for the backlog to drain first"),
    projection: list[str] = typer.Option(  # noqa: B008 - typer's idiom for a repeatable option
        ["summary", "search"], help="read models to compare (repeat the option)"
    ),
) -> None:
    """Compare PostgreSQL with every read model; exit 1 on drift, 3 if the backlog never drained."""
    from orders_cqrs.bootstrap import build_engine, build_opensearch, build_redis
    from orders_cqrs.readmodels.search.reader import SearchVersions
    from orders_cqrs.readmodels.summary.reader import SummaryVersions
    from orders_cqrs.tooling.verify import VersionProbe, backlog, compare, wait_for_drain

    settings = get_settings()

    async def main() -> int:
        engine, redis, search = (
            build_engine(settings),
            build_redis(settings),
            build_opensearch(settings),
        )
        known: dict[str, VersionProbe] = {
            "summary": SummaryVersions(redis),
            "search": SearchVersions(search, alias=settings.search_alias),
        }
        unknown = [name for name in projection if name not in known]
        if unknown:
            raise typer.BadParameter(f"unknown projection(s): {', '.join(unknown)}")
        probes = [known[name] for name in projection]
        try:
            drained = await wait_for_drain(
                lambda: backlog(engine, redis, settings.stream_name, projection), wait
            )
            drifts = await compare(engine, probes)
        finally:
            await search.close()
            await redis.aclose()
            await engine.dispose()
        typer.echo(f"{'projection':12} {'checked':>8} {'missing':>8} {'behind':>8} {'ahead':>8}")
        for d in drifts:
            typer.echo(f"{d.projection:12} {d.checked:8} {d.missing:8} {d.behind:8} {d.ahead:8}")
            for example in d.examples:
                typer.echo(f"  {example}")
        if not drained:
            typer.echo("backlog not drained: differences may be lag, not drift")
            return 3
        return 0 if all(d.clean for d in drifts) else 1

    raise typer.Exit(asyncio.run(main()))


@app.command()
def rebuild(
    name: str = typer.Argument(..., help="summary | search"),
    keep_old: bool = typer.Option(False, help="keep the previous generation"),
) -> None:
    """Rebuild a projection from the outbox into a new generation, then switch readers to it."""
    from orders_cqrs.bootstrap import (
        build_engine,
        build_opensearch,
        build_redis,
        engine_settings,
        rebuild_target,
    )
    from orders_cqrs.db.dead_letters import DeadLetterRepository
    from orders_cqrs.readmodels.rebuild import rebuild as run_rebuild

    settings = get_settings()

    async def main() -> None:
        engine, redis, search = (
            build_engine(settings),
            build_redis(settings),
            build_opensearch(settings),
        )
        target = rebuild_target(name, redis, search, search_alias=settings.search_alias)
        bar: Any = None

        def on_total(total: int) -> None:
            nonlocal bar
            bar = typer.progressbar(length=total, label=f"rebuilding {name} from the outbox")
            bar.__enter__()

        try:
            report = await run_rebuild(
                target,
                engine,
                redis,
                DeadLetterRepository(engine),
                engine_settings(settings),
                on_total=on_total,
                on_progress=lambda n: bar.update(n) if bar is not None else None,
                drop_old=not keep_old,
            )
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
            await search.close()
            await redis.aclose()
            await engine.dispose()
        typer.echo(
            f"{name} rebuilt: {report.old_namespace} → {report.new_namespace},"
            f" {report.scanned} events from the outbox, {report.caught_up} from the stream"
        )

    asyncio.run(main())


dead_letters_app = typer.Typer(no_args_is_help=True, help="List and replay dead letters.")
app.add_typer(dead_letters_app, name="dead-letters")


@dead_letters_app.command("list")
def dead_letters_list(name: str = typer.Argument(..., help="projection name")) -> None:
    """Open dead letters of a projection, with their errors."""
    from orders_cqrs.bootstrap import build_engine
    from orders_cqrs.db.dead_letters import DeadLetterRepository

    async def main() -> None:
        engine = build_engine(get_settings())
        try:
            letters = await DeadLetterRepository(engine).list_for(name)
        finally:
            await engine.dispose()
        typer.echo(f"{len(letters)} open dead letter(s) for {name}")
        for letter in letters:
            typer.echo(
                f"  #{letter.id} {letter.event_type} {letter.aggregate_id}"
                f" v{letter.aggregate_version} attempts={letter.attempts}: {letter.error[:200]}"
            )

    asyncio.run(main())


@dead_letters_app.command("replay")
def dead_letters_replay(
    name: str = typer.Argument(..., help="projection name"),
    ids: list[int] = typer.Option(None, "--id", help="only these dead letters (repeatable)"),  # noqa: B008
) -> None:
    """Apply dead letters again once their cause is fixed; failures stay parked."""
    from orders_cqrs.bootstrap import (
        build_clickhouse,
        build_engine,
        build_opensearch,
        build_projections,
        build_redis,
    )
    from orders_cqrs.db.dead_letters import DeadLetterRepository
    from orders_cqrs.readmodels.engine import replay_dead_letters

    _refuse_chdb_outside_api(name)  # replay over HTTP instead: POST …/dead-letters/replay
    settings = get_settings()

    async def main() -> tuple[int, int]:
        engine, redis, search = (
            build_engine(settings),
            build_redis(settings),
            build_opensearch(settings),
        )
        clickhouse = build_clickhouse(settings) if name == "analytics" else None
        try:
            projections = build_projections(
                redis, search, search_alias=settings.search_alias, clickhouse=clickhouse
            )
            if name not in projections:
                raise typer.BadParameter(f"unknown projection {name!r}")
            return await replay_dead_letters(
                projections[name], DeadLetterRepository(engine), list(ids) if ids else None
            )
        finally:
            if clickhouse is not None:
                await clickhouse.close()
            await search.close()
            await redis.aclose()
            await engine.dispose()

    replayed, failing = asyncio.run(main())
    typer.echo(f"replayed {replayed}, still failing {failing}")
    raise typer.Exit(0 if failing == 0 else 1)


@app.command()
def reconcile(
    older_than: float = typer.Option(None, help="seconds; default ORDERS_RECONCILE_AFTER_SECONDS"),
    loop: bool = typer.Option(False, help="keep reconciling every 10 s"),
) -> None:
    """Finish payment attempts that a crash or a provider timeout left pending."""
    from orders_cqrs.bootstrap import build_container
    from orders_cqrs.write.payments.reconciler import reconcile as run_pass

    settings = get_settings()
    configure_logging(json=settings.environment == "production")
    age = timedelta(
        seconds=older_than if older_than is not None else settings.reconcile_after_seconds
    )

    async def main() -> None:
        container = build_container(settings)
        await container.open()
        try:
            while True:
                report = await run_pass(container.executor, container.gateways, older_than=age)
                typer.echo(
                    f"examined {report.examined}, recorded {report.recorded},"
                    f" abandoned {report.abandoned}, refused {report.failed}"
                )
                if not loop:
                    return
                await asyncio.sleep(10)
        finally:
            await container.aclose()

    asyncio.run(main())


@app.command("bench-analytics")
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


@app.command()
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


@app.command()
def cleanup() -> None:
    """Delete expired idempotency receipts, in batches."""
    from orders_cqrs.bootstrap import build_container

    async def main() -> int:
        container = build_container(get_settings())
        await container.open()
        total = 0
        try:
            while True:
                async with container.executor.uow_factory() as uow:
                    removed = await uow.receipts.delete_expired()
                    await uow.commit()
                total += removed
                if removed == 0:
                    return total
        finally:
            await container.aclose()

    typer.echo(f"removed {asyncio.run(main())} expired idempotency receipts")


if __name__ == "__main__":
    app()
