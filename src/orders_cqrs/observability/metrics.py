"""Every Prometheus metric of the service, in one module. Labels stay low-cardinality."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

COMMANDS = Counter(
    "orders_commands_total",
    "Commands handled, by command and outcome (accepted, rejected).",
    ["command", "outcome"],
)
COMMAND_SECONDS = Histogram(
    "orders_command_duration_seconds",
    "Time to execute an accepted command, transaction included.",
    ["command"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IDEMPOTENT_REPLAYS = Counter(
    "orders_idempotent_replays_total",
    "Requests answered from a stored idempotency receipt.",
    ["command"],
)
OUTBOX_ROWS = Counter(
    "orders_outbox_rows_written_total",
    "Outbox rows written by accepted commands.",
    ["command"],
)
HTTP_REQUESTS = Counter(
    "orders_http_requests_total",
    "HTTP requests, by route template, method and status class.",
    ["route", "method", "status"],
)
PAYMENT_CALLS = Counter(
    "orders_payment_provider_calls_total",
    "Calls to payment providers, by provider and result (approved, declined, timeout).",
    ["provider", "result"],
)
RECONCILED = Counter(
    "orders_payment_attempts_reconciled_total",
    "Payment attempts finished by the reconciler, by result.",
    ["result"],
)
