"""orders-cqrs: the command API, workers (relay, projectors), and operations tooling."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import typer
import uvicorn
import uvloop

from orders_cqrs.bootstrap import Container, open_container
from orders_cqrs.config import get_settings
from orders_cqrs.entrypoints.operations import (
    refuse_chdb_outside_api,
    register_operations,
    with_container,
)
from orders_cqrs.entrypoints.staff import staff_app
from orders_cqrs.observability import tracing
from orders_cqrs.observability.build_info import declare_build_info
from orders_cqrs.observability.discovery import register_target
from orders_cqrs.observability.logging import configure_from

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

    configure_from(get_settings())  # alembic's lines in the service's format
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
    register_target(settings.prometheus_sd_dir, "orders-api", settings.host, settings.port)
    _serve("orders_cqrs.entrypoints.app:create_app", workers=count)


def _serve(factory: str, *, workers: int = 1) -> None:
    settings = get_settings()
    try:
        settings.require_serving()
    except ValueError as error:
        typer.echo(f"cannot serve: {error}", err=True)
        raise typer.Exit(2) from error
    configure_from(settings)
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        # One line per request comes from the app (``api/request_log.py``).
        access_log=False,
        # Our handler (structlog's format, redacting) prints uvicorn's lines too.
        log_config=None,
        # X-Forwarded-* is believed only from ORDERS_TRUSTED_PROXIES (``web/session.py``),
        # not from whatever uvicorn's FORWARDED_ALLOW_IPS says (127.0.0.1 by default).
        proxy_headers=False,
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
    _seed_staff()
    typer.echo(
        f"serving on http://{settings.host}:{settings.port} with the relay and projectors"
        " in-process  (Ctrl-C stops)"
    )
    if register_target(settings.prometheus_sd_dir, "orders-dev", settings.host, settings.port):
        typer.echo(f"registered with Prometheus through {settings.prometheus_sd_dir}")
    _serve("orders_cqrs.entrypoints.app:create_dev_app")


def _seed_staff() -> None:
    """The demo staff accounts, printed: people sign in to the consoles with these."""
    from orders_cqrs.tooling.demo import seed_demo_staff

    settings = get_settings()
    if settings.environment == "production":
        typer.echo("production: no demo staff accounts (orders-cqrs staff add creates one)")
        return
    typer.echo("dev staff accounts (sign in at /support and /ops; development only):")
    for _name, email, role, password in asyncio.run(seed_demo_staff(settings)):
        typer.echo(f"  {role:9} {email}  {password}")


@app.command()
def relay() -> None:
    """Publish committed outbox rows to the Redis stream (several may run at once)."""
    from orders_cqrs.entrypoints.workers import run_relay, serve_metrics, stop_on_signals

    settings = get_settings()
    configure_from(settings)
    declare_build_info("relay")
    serve_metrics(
        settings.metrics_host,
        settings.relay_metrics_port,
        stale_after=settings.stale_after_seconds(settings.relay_poll_seconds),
    )
    tracing.configure("orders-relay")
    register_target(
        settings.prometheus_sd_dir,
        "orders-relay",
        settings.metrics_host,
        settings.relay_metrics_port,
    )

    async def main() -> None:
        async with open_container(settings) as container:
            await run_relay(container, stop_on_signals())

    uvloop.run(main())  # the event loop the API runs on too: less CPU per wake-up


@app.command()
def project(name: str = typer.Argument(..., help="summary | search | analytics")) -> None:
    """Run one projection's consumer (graceful on SIGTERM: finish the batch, ack, exit)."""
    from orders_cqrs.entrypoints.workers import run_projection, serve_metrics, stop_on_signals

    refuse_chdb_outside_api(name)
    settings = get_settings()
    configure_from(settings)
    declare_build_info("projector")
    serve_metrics(
        settings.metrics_host,
        settings.projection_metrics_port,
        stale_after=settings.stale_after_seconds(settings.projection_block_ms / 1000),
    )
    tracing.configure("orders-projector")
    register_target(
        settings.prometheus_sd_dir,
        "orders-projector",
        settings.metrics_host,
        settings.projection_metrics_port,
        projection=name,
    )

    async def main() -> None:
        async with open_container(settings) as container:
            await run_projection(container, name, stop_on_signals())

    uvloop.run(main())


@app.command()
def reconcile(
    older_than: float = typer.Option(None, help="seconds; default ORDERS_RECONCILE_AFTER_SECONDS"),
    loop: bool = typer.Option(False, help="keep reconciling until SIGTERM"),
    interval: float = typer.Option(10.0, min=0.01, help="seconds between passes with --loop"),
) -> None:
    """Finish payment attempts (authorizations, voids) that a crash or a timeout left pending."""
    from orders_cqrs.entrypoints.workers import run_reconciler, serve_metrics, stop_on_signals
    from orders_cqrs.write.payments.reconciler import ReconcileReport
    from orders_cqrs.write.payments.reconciler import reconcile as run_pass

    settings = get_settings()
    configure_from(settings)
    declare_build_info("reconciler")
    tracing.configure("orders-reconciler")
    age = timedelta(
        seconds=older_than if older_than is not None else settings.reconcile_after_seconds
    )

    def show(report: ReconcileReport) -> None:
        typer.echo(
            f"examined {report.examined}, recorded {report.recorded},"
            f" voided {report.voided}, abandoned {report.abandoned}, refused {report.failed},"
            f" left to their requests {report.moved_on}"
        )

    if loop:
        serve_metrics(
            settings.metrics_host,
            settings.reconciler_metrics_port,
            stale_after=settings.stale_after_seconds(interval),
        )
        register_target(
            settings.prometheus_sd_dir,
            "orders-reconciler",
            settings.metrics_host,
            settings.reconciler_metrics_port,
        )

    async def main(container: Container) -> None:
        if loop:
            await run_reconciler(
                container, stop_on_signals(), older_than=age, interval=interval, on_pass=show
            )
        else:
            timeout = container.payment.timeout_seconds
            show(
                await run_pass(
                    container.executor,
                    container.gateways,
                    older_than=age,
                    void_timeout_seconds=timeout,
                )
            )

    with_container(main, commands=True)


register_operations(app)
app.add_typer(staff_app, name="staff", help="Named accounts of the people who use the consoles.")

if __name__ == "__main__":
    app()
