"""Every Prometheus metric of the service, in one module. Labels stay low-cardinality."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
    "Calls to payment providers, by provider and result"
    " (approved, declined, timeout; voided, void_timeout).",
    ["provider", "result"],
)
RECONCILED = Counter(
    "orders_payment_attempts_reconciled_total",
    "Payment attempts the reconciler handled, by result (moved_on: a request finished it first).",
    ["result"],
)

# ---------------------------------------------------------------- relay
RELAY_PUBLISHED = Counter(
    "orders_relay_published_events_total", "Outbox rows published to the stream.", ["event_type"]
)
RELAY_BATCH_EVENTS = Histogram(
    "orders_relay_batch_events",
    "Rows per published batch.",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000),
)
RELAY_COMMIT_TO_PUBLISH_SECONDS = Histogram(
    "orders_relay_commit_to_publish_seconds",
    "From the command's commit (outbox occurred_at) to the stream publish.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
OUTBOX_BACKLOG_EVENTS = Gauge("orders_outbox_backlog_events", "Outbox rows not yet published.")
OUTBOX_OLDEST_AGE_SECONDS = Gauge(
    "orders_outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished outbox row."
)
RELAY_ERRORS = Counter(
    "orders_relay_errors_total", "Failed relay batches, by store (postgres, redis).", ["store"]
)
RELAY_NOT_REPLICATED = Counter(
    "orders_relay_not_replicated_batches_total",
    "Batches left unpublished because too few Redis replicas acknowledged them in time.",
)
STREAM_TRIMMED = Counter(
    "orders_stream_trimmed_entries_total", "Stream entries trimmed after every group acked them."
)

# ---------------------------------------------------------------- projections
PROJECTED = Counter(
    "orders_projection_events_total",
    "Events handled by a projection, by outcome (applied, duplicate, stale, dead_lettered).",
    ["projection", "outcome"],
)
PROJECTION_RETRIES = Counter(
    "orders_projection_retries_total", "Retried applications of an event or batch.", ["projection"]
)
PROJECTION_DEAD_LETTERS = Gauge(
    "orders_projection_dead_letters", "Dead letters not yet replayed.", ["projection"]
)
PROJECTION_LAG_EVENTS = Gauge(
    "orders_projection_lag_events",
    "Stream entries the projection has not acknowledged (unread + pending).",
    ["projection"],
)
PROJECTION_LAG_SECONDS = Gauge(
    "orders_projection_lag_seconds",
    "Age of the oldest event the projection has not applied (0 when caught up).",
    ["projection"],
)
PROJECTION_BATCH_SECONDS = Histogram(
    "orders_projection_batch_duration_seconds",
    "Time to apply and acknowledge one batch.",
    ["projection"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

# ``orders-cqrs verify --metrics-file``: a registry of its own, written in the text format for
# node_exporter's textfile collector, so a scheduled verify can feed an alert.
VERIFY_REGISTRY = CollectorRegistry()
VERIFY_DRIFTED_ORDERS = Gauge(
    "orders_verify_drifted_orders",
    "Orders a read model lacks for longer than the freshness SLO, or holds ahead or with"
    " another status, at the last verify.",
    ["projection"],
    registry=VERIFY_REGISTRY,
)
VERIFY_IN_FLIGHT_ORDERS = Gauge(
    "orders_verify_in_flight_orders",
    "Orders a read model is behind on within the freshness SLO, at the last verify.",
    ["projection"],
    registry=VERIFY_REGISTRY,
)
VERIFY_COMPLETED_SECONDS = Gauge(
    "orders_verify_last_run_timestamp_seconds",
    "When the last verify finished (Unix time): an alert can also see verify stop running.",
    registry=VERIFY_REGISTRY,
)
