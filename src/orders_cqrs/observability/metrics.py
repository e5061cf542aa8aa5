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
    "Time to execute a command, transaction included, by outcome (accepted, rejected; a"
    " refusal's audit row included). Steps that only finish a request after a provider call"
    " are not timed: they are the end of a request, not a command.",
    ["command", "outcome"],
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
HTTP_REQUEST_SECONDS = Histogram(
    "orders_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template (unmatched: an unknown path),"
    " method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PAYMENT_CALLS = Counter(
    "orders_payment_provider_calls_total",
    "Calls to payment providers, by provider and result"
    " (approved, declined, timeout; voided, void_timeout).",
    ["provider", "result"],
)
PAYMENT_CALL_SECONDS = Histogram(
    "orders_payment_provider_call_duration_seconds",
    "Time a payment provider took to answer (or until the caller gave up: result timeout), by"
    " provider, operation (authorize, void, retrieve) and result.",
    ["provider", "operation", "result"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
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

# ================================================================ operability: lag from the stream
# Measured by the relay (and the `dev` process), never by the projector it describes: a
# projector killed with kill -9 takes its own series with it, these keep rising. Labelled by
# the projection's consumer group; alert rules live in deploy/prometheus/rules/.
STREAM_GROUP_LAG_EVENTS = Gauge(
    "orders_stream_group_lag_events",
    "Stream entries the projection's consumer group has not acknowledged (unread + pending).",
    ["projection"],
    multiprocess_mode="max",
)
STREAM_GROUP_PENDING_EVENTS = Gauge(
    "orders_stream_group_pending_events",
    "Entries delivered to the projection's consumers but not acknowledged (XPENDING).",
    ["projection"],
    multiprocess_mode="max",
)
STREAM_GROUP_OLDEST_UNAPPLIED_AGE_SECONDS = Gauge(
    "orders_stream_group_oldest_unapplied_age_seconds",
    "Age (from its stream id) of the oldest entry the projection has not acknowledged; 0 when"
    " caught up.",
    ["projection"],
    multiprocess_mode="max",
)
STREAM_LENGTH_ENTRIES = Gauge(
    "orders_stream_length_entries", "Entries in the event stream (XLEN).", multiprocess_mode="max"
)
STREAM_OLDEST_ENTRY_AGE_SECONDS = Gauge(
    "orders_stream_oldest_entry_age_seconds",
    "Age of the stream's first entry: above the retention, some live group holds the stream.",
    multiprocess_mode="max",
)
STREAM_RETENTION_SECONDS = Gauge(
    "orders_stream_retention_seconds",
    "The configured stream retention (ORDERS_STREAM_RETENTION_SECONDS).",
    multiprocess_mode="max",
)
STREAM_LAG_MEASURED_TIMESTAMP = Gauge(
    "orders_stream_lag_measured_timestamp_seconds",
    "When the stream's group lag was last measured (Unix time).",
    multiprocess_mode="max",
)

# ================================================================ operability: projector SLIs
PROJECTION_LAST_APPLIED_TIMESTAMP = Gauge(
    "orders_projection_last_applied_timestamp_seconds",
    "When the projector last acknowledged a batch of events (Unix time).",
    ["projection"],
    multiprocess_mode="max",
)
PROJECTION_LAST_POLL_TIMESTAMP = Gauge(
    "orders_projection_last_poll_timestamp_seconds",
    "When the projector last asked the stream for entries (Unix time): its loop is alive.",
    ["projection"],
    multiprocess_mode="max",
)
# The freshness SLOs (deploy/prometheus/rules/orders.yml) count the events under 1 s (summary),
# 2 s (search) and 60 s (analytics): those bounds must stay buckets.
FRESHNESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)
PROJECTION_FRESHNESS_SECONDS = Histogram(
    "orders_projection_freshness_seconds",
    "From the command's commit (the event's occurred_at) to the projection applying it.",
    ["projection"],
    buckets=FRESHNESS_BUCKETS,
)

# ================================================================ operability: reconciler
RECONCILER_STALE_ATTEMPTS = Gauge(
    "orders_reconciler_stale_attempts",
    "Payment attempts still pending past ORDERS_RECONCILE_AFTER_SECONDS at the last pass.",
    multiprocess_mode="max",
)
RECONCILER_LAST_PASS_TIMESTAMP = Gauge(
    "orders_reconciler_last_pass_timestamp_seconds",
    "When the reconciler last finished a pass (Unix time).",
    multiprocess_mode="max",
)

# ================================================================ operability: process
# Every process sets it once at start (``observability/build_info.py``); "max" keeps one series
# per label set across the API's worker processes instead of one per pid.
BUILD_INFO = Gauge(
    "orders_build_info",
    "Always 1; the labels name the running version, Python and process kind.",
    ["version", "python", "process"],
    multiprocess_mode="max",
)
# The SQLAlchemy pool (``observability/db_pool.py``). "livesum": with several API workers,
# the sum over the live ones; each keeps its own values current on every checkout and checkin.
DB_POOL_CONNECTIONS = Gauge(
    "orders_db_pool_connections",
    "Connections of the process's SQLAlchemy pool, by state (in_use, idle).",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_CHECKOUT_WAIT_SECONDS = Histogram(
    "orders_db_pool_checkout_wait_seconds",
    "Time a caller waited for a pooled connection (a new connection's connect included).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# ================================================================ consoles: staff sign-in
CONSOLE_SIGN_INS = Counter(
    "orders_console_sign_ins_total",
    "Staff sign-in attempts to a console, by outcome (signed_in, refused, throttled).",
    ["console", "outcome"],
)
