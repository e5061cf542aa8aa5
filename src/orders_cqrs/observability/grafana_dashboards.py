"""The service's Grafana dashboards: ``python -m orders_cqrs.observability.grafana_dashboards``
writes ``deploy/grafana/dashboards/*.json`` (provisioned by docker-compose.yml), and a unit test
fails when the files and this module disagree.

Every query names only metrics of ``observability/metrics.py`` or the recording rules of
``deploy/prometheus/rules/`` (tests/unit/test_grafana_dashboards.py checks both, and
tests/chaos/test_dashboards_live.py runs every query against a real Prometheus).
``$__rate_interval`` is Grafana's window for ``rate()`` (at least four scrape intervals).
Counters that only move on failure (retries, relay errors, rejections) fall back to 0, so a
healthy system draws a flat line at 0 rather than "No data".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from orders_cqrs.observability.grafana import (
    RATE,
    Dashboard,
    Panel,
    Row,
    or_zero_per_projection,
    q,
    quantiles,
    render,
    share,
)


# Share of the events applied within the SLO threshold, per projection, over ``window``.
def within_slo(window: str) -> str:
    return (
        "sum by (projection) (rate(orders_projection_freshness_seconds_bucket["
        f"{window}]) and on (projection, le) orders:freshness_slo:objective)"
        " / sum by (projection) (rate(orders_projection_freshness_seconds_count"
        f"[{window}]))"
    )


FRESHNESS = Dashboard(
    uid="orders-freshness",
    title="orders-cqrs: freshness, lag and the event pipeline",
    description="Freshness SLOs per read model, consumer-group lag measured from the stream,"
    " the outbox, relay and projector throughput, retries and dead letters."
    " Runbooks: docs/runbooks/.",
    rows=(
        Row(
            "Freshness SLO (commit to visible in the read model)",
            (
                Panel(
                    "Events within the freshness SLO (5m)",
                    (q("1 - orders:projection_freshness_errors:ratio_rate5m", "{{projection}}"),),
                    unit="percentunit",
                    kind="stat",
                    description="Share of the events applied in the last 5 minutes that became"
                    " visible within the projection's threshold (summary 1 s, search 2 s,"
                    " analytics 60 s; objective 99 %, deploy/prometheus/rules/orders.yml).",
                    thresholds=(0.99,),
                ),
                Panel(
                    "Error budget left (30 days)",
                    (
                        q(
                            f"1 - ((1 - {within_slo('30d')})"
                            " / on (projection) orders:freshness_slo:error_budget)",
                            "{{projection}}",
                        ),
                    ),
                    unit="percentunit",
                    kind="stat",
                    description="1 − (late share over 30 days ÷ the budget of 1 %). Below 0:"
                    " the SLO is missed for the month.",
                    thresholds=(0.0, 0.25),
                ),
                Panel(
                    "Burn rate (1h and 6h)",
                    (
                        q(
                            "orders:projection_freshness_errors:ratio_rate1h"
                            " / on (projection) orders:freshness_slo:error_budget",
                            "1h {{projection}}",
                        ),
                        q(
                            "orders:projection_freshness_errors:ratio_rate6h"
                            " / on (projection) orders:freshness_slo:error_budget",
                            "6h {{projection}}",
                        ),
                    ),
                    description="How many times faster than allowed the budget burns. The"
                    " fast-burn page fires at 14.4 (1h) or 6 (6h), OrdersFreshnessBudgetBurnFast.",
                    thresholds=(6.0, 14.4),
                ),
                Panel(
                    "Freshness (commit to applied)",
                    quantiles(
                        "orders_projection_freshness_seconds", "projection", "{{projection}}"
                    ),
                    unit="s",
                    width=12,
                ),
                Panel(
                    "Relay: commit to published",
                    quantiles("orders_relay_commit_to_publish_seconds", "job", "{{job}}"),
                    unit="s",
                    width=12,
                ),
            ),
        ),
        Row(
            "Lag per projection (measured from the stream by the relay)",
            (
                Panel(
                    "Lag (events)",
                    (
                        q("max by (projection) (orders_stream_group_lag_events)", "{{projection}}"),
                        q(
                            "max by (projection) (orders_stream_group_pending_events)",
                            "pending {{projection}}",
                        ),
                    ),
                    description="Entries the consumer group has not acknowledged (unread +"
                    " pending); measured by the relay, so it keeps rising when a projector dies.",
                ),
                Panel(
                    "Lag (age of the oldest unapplied event)",
                    (
                        q(
                            "max by (projection)"
                            " (orders_stream_group_oldest_unapplied_age_seconds)",
                            "{{projection}}",
                        ),
                    ),
                    unit="s",
                    thresholds=(30.0,),
                ),
                Panel(
                    "Projector heartbeat (time since last applied batch, last poll)",
                    (
                        q(
                            "time() - max by (projection)"
                            " (orders_projection_last_applied_timestamp_seconds)",
                            "applied {{projection}}",
                        ),
                        q(
                            "time() - max by (projection)"
                            " (orders_projection_last_poll_timestamp_seconds)",
                            "polled {{projection}}",
                        ),
                    ),
                    unit="s",
                    description="A projector whose poll is old has a stuck loop; one whose last"
                    " apply is old while lag > 0 is stalled (OrdersProjectionStalled).",
                ),
            ),
        ),
        Row(
            "Outbox and stream",
            (
                Panel(
                    "Outbox backlog (unpublished rows)",
                    (q("max(orders_outbox_backlog_events)", "unpublished"),),
                ),
                Panel(
                    "Oldest unpublished outbox row",
                    (q("max(orders_outbox_oldest_unpublished_age_seconds)", "age"),),
                    unit="s",
                    thresholds=(30.0,),
                    description="Above 30 s for 2 minutes pages (OrdersOutboxBacklogStale).",
                ),
                Panel(
                    "Stream length and oldest entry vs retention",
                    (
                        q("max(orders_stream_length_entries)", "entries"),
                        q("max(orders_stream_oldest_entry_age_seconds)", "oldest entry age (s)"),
                        q("max(orders_stream_retention_seconds)", "retention (s)"),
                    ),
                    description="An oldest entry far past the retention: a consumer group holds"
                    " the stream (OrdersStreamRetentionBlocked).",
                ),
            ),
        ),
        Row(
            "Throughput",
            (
                Panel(
                    "Relay: events published",
                    (
                        q(
                            "sum by (event_type)"
                            f" (rate(orders_relay_published_events_total[{RATE}]))",
                            "{{event_type}}",
                        ),
                    ),
                    unit="ops",
                ),
                Panel(
                    "Relay: rows per batch",
                    quantiles("orders_relay_batch_events", "job", "{{job}}"),
                ),
                Panel(
                    "Projectors: events handled",
                    (
                        q(
                            "sum by (projection, outcome)"
                            f" (rate(orders_projection_events_total[{RATE}]))",
                            "{{projection}} {{outcome}}",
                        ),
                    ),
                    unit="ops",
                    width=12,
                ),
                Panel(
                    "Projectors: batch duration",
                    quantiles(
                        "orders_projection_batch_duration_seconds", "projection", "{{projection}}"
                    ),
                    unit="s",
                    width=12,
                ),
            ),
        ),
        Row(
            "Retries and dead letters",
            (
                Panel(
                    "Projection retries",
                    (
                        q(
                            or_zero_per_projection(
                                "sum by (projection)"
                                f" (rate(orders_projection_retries_total[{RATE}]))"
                            ),
                            "{{projection}}",
                        ),
                    ),
                    unit="ops",
                    description="Above 1/s for 10 minutes: OrdersProjectionRetryStorm.",
                ),
                Panel(
                    "Dead letters not yet replayed",
                    (q("max by (projection) (orders_projection_dead_letters)", "{{projection}}"),),
                    thresholds=(1.0,),
                    description="Any: OrdersDeadLetters. `orders-cqrs dead-letters replay`.",
                ),
                Panel(
                    "Relay errors",
                    (
                        q(
                            f"sum by (store) (rate(orders_relay_errors_total[{RATE}]))"
                            " or on () vector(0)",
                            "{{store}}",
                        ),
                        q(
                            f"sum(rate(orders_relay_not_replicated_batches_total[{RATE}]))"
                            " or on () vector(0)",
                            "not replicated",
                        ),
                    ),
                    unit="ops",
                ),
            ),
        ),
    ),
)

SERVICE = Dashboard(
    uid="orders-service",
    title="orders-cqrs: commands, HTTP and payments",
    description="The command API: commands by type and outcome with latency, HTTP by route,"
    " payment providers, processes. Runbooks: docs/runbooks/.",
    rows=(
        Row(
            "Commands",
            (
                Panel(
                    "Commands by type and outcome",
                    (
                        q(
                            f"sum by (command, outcome) (rate(orders_commands_total[{RATE}]))",
                            "{{command}} {{outcome}}",
                        ),
                    ),
                    unit="ops",
                    width=12,
                ),
                Panel(
                    "Rejected share by command",
                    (
                        q(
                            share("orders_commands_total", 'outcome="rejected"', "", "command"),
                            "{{command}}",
                        ),
                    ),
                    unit="percentunit",
                    width=12,
                ),
                Panel(
                    "Command latency by type and outcome",
                    quantiles(
                        "orders_command_duration_seconds",
                        "command, outcome",
                        "{{command}} {{outcome}}",
                    ),
                    unit="s",
                    width=24,
                ),
            ),
        ),
        Row(
            "HTTP",
            (
                Panel(
                    "Requests by route and status",
                    (
                        q(
                            "sum by (route, method, status)"
                            f" (rate(orders_http_requests_total[{RATE}]))",
                            "{{method}} {{route}} {{status}}",
                        ),
                    ),
                    unit="reqps",
                    width=12,
                ),
                Panel(
                    "5xx share",
                    (q(share("orders_http_requests_total", 'status="5xx"', "", "job"), "{{job}}"),),
                    unit="percentunit",
                    width=12,
                    thresholds=(0.01,),
                ),
                Panel(
                    "Latency by route",
                    quantiles(
                        "orders_http_request_duration_seconds",
                        "route, method",
                        "{{method}} {{route}}",
                    ),
                    unit="s",
                    width=24,
                ),
            ),
        ),
        Row(
            "Payment providers",
            (
                Panel(
                    "Provider calls by result",
                    (
                        q(
                            "sum by (provider, result)"
                            f" (rate(orders_payment_provider_calls_total[{RATE}]))",
                            "{{provider}} {{result}}",
                        ),
                    ),
                    unit="ops",
                ),
                Panel(
                    "Declined and timed-out share of authorizations",
                    (
                        q(
                            share(
                                "orders_payment_provider_calls_total",
                                'result=~"declined|timeout"',
                                'result=~"approved|declined|timeout"',
                                "provider",
                            ),
                            "{{provider}}",
                        ),
                    ),
                    unit="percentunit",
                ),
                Panel(
                    "Provider call latency",
                    quantiles(
                        "orders_payment_provider_call_duration_seconds",
                        "provider, operation",
                        "{{provider}} {{operation}}",
                    ),
                    unit="s",
                ),
            ),
        ),
        Row(
            "Processes",
            (
                Panel(
                    "Targets up by job",
                    (q('sum by (job) (up{job=~"orders-.+"})', "{{job}}"),),
                ),
                Panel(
                    "API database pool",
                    (
                        q("sum by (state) (orders_db_pool_connections)", "{{state}}"),
                        q(
                            "histogram_quantile(0.99, sum by (le)"
                            f" (rate(orders_db_pool_checkout_wait_seconds_bucket[{RATE}])))",
                            "p99 checkout wait (s)",
                        ),
                    ),
                ),
                Panel(
                    "Versions running",
                    (
                        q(
                            "count by (process, version) (orders_build_info)",
                            "{{process}} {{version}}",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

DASHBOARDS = (FRESHNESS, SERVICE)


def dashboard_files(directory: Path) -> dict[Path, str]:
    """Each dashboard's file and its exact text."""
    return {
        directory / f"{d.uid}.json": json.dumps(render(d), indent=2, ensure_ascii=False) + "\n"
        for d in DASHBOARDS
    }


def main(argv: list[str]) -> int:
    """Write the dashboards into the directory given (default: deploy/grafana/dashboards)."""
    root = Path(__file__).resolve().parents[3]
    directory = Path(argv[0]) if argv else root / "deploy" / "grafana" / "dashboards"
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in dashboard_files(directory).items():
        path.write_text(text)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
