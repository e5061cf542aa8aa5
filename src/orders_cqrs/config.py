"""Settings: every knob comes from an ``ORDERS_`` environment variable, with working local defaults.

Startup fails with the offending key named (pydantic-settings does that for us); production
refuses the well-known development API keys so a laptop default never reaches real traffic.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["checkout", "support", "ops"]
ROLES: tuple[Role, ...] = ("checkout", "support", "ops")

DEV_API_KEYS = "checkout:ck_dev_checkout_key,support:sk_dev_support_key,ops:ok_dev_ops_key"
# Signs console session cookies on a laptop and in tests; production must name its own.
DEV_SESSION_SECRET = "orders-cqrs-dev-console-session-secret"  # noqa: S105 - dev only
SESSION_SECRET_MIN_CHARS = 32
ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ApiClient:
    """One configured API key, known only by its SHA-256 digest."""

    role: Role
    key_sha256: str

    @property
    def client_id(self) -> str:
        """Stable, non-secret id used to scope idempotency keys and to name the actor."""
        return f"{self.role}:{self.key_sha256[:12]}"


def hash_api_key(key: str) -> str:
    """Digest under which an API key is stored and compared."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_api_keys(spec: str) -> tuple[ApiClient, ...]:
    """Parse ``role:key`` (or ``role:sha256:<hex digest>``) pairs; only digests are kept."""
    clients: list[ApiClient] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        role, sep, secret = item.partition(":")
        if not sep or role not in ROLES or not secret:
            raise ValueError(f"ORDERS_API_KEYS entry {item.split(':')[0]!r}… is not role:key")
        if secret.startswith("sha256:"):
            digest = secret.removeprefix("sha256:").lower()
            if len(digest) != 64:
                raise ValueError("ORDERS_API_KEYS sha256 digests have 64 hex characters")
        else:
            digest = hash_api_key(secret)
        clients.append(ApiClient(role=role, key_sha256=digest))
    if not clients:
        raise ValueError("ORDERS_API_KEYS names no key")
    return tuple(clients)


def default_clickhouse_url() -> str:
    """chDB under the services' state directory when it is writable, else the repo's ``.run/``.

    The analytics store works out of the box on a laptop (``make dev``) with no server: the real
    ClickHouse engine runs in-process. Production names an ``http://`` server instead.
    """
    state = Path("/var/lib/orders-cqrs")
    writable = os.access(state, os.W_OK) if state.exists() else os.access(state.parent, os.W_OK)
    base = state if writable else Path.cwd() / ".run"
    return f"chdb://{base / 'chdb'}"


class Settings(BaseSettings):
    """Every setting of the service; docs/settings.md says what each one does."""

    # A refused value is not echoed in the error: it may be a URL with a password, or a key.
    model_config = SettingsConfigDict(
        env_prefix="ORDERS_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    environment: Literal["local", "test", "production"] = "local"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # API worker processes; unset means one per CPU (``orders-cqrs api --workers`` overrides).
    api_workers: int | None = Field(default=None, ge=1, le=64)
    # Logs: the level of the service's lines (libraries log at WARNING unless this is lower
    # still, DEBUG), and json (one object per line) or console; unset: json in production.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] | None = None
    # On SIGTERM the API first answers /readyz with 503 for this long, still serving, so load
    # balancers stop sending it requests; then it stops accepting and finishes those in flight.
    # Unset: 5 s in production, none elsewhere (a person's Ctrl-C, SIGINT, never waits).
    shutdown_drain_seconds: float | None = Field(default=None, ge=0, le=120)
    # A worker's /healthz (on its metrics port) answers 503 once its loop has not finished a
    # round for this long; unset: 3 × the worker's poll interval, at least 10 s.
    worker_stale_after_seconds: float | None = Field(default=None, gt=0)
    database_url: str = "postgresql+psycopg://orders:orders@127.0.0.1:55432/orders"
    redis_url: str = "redis://127.0.0.1:56379/0"
    opensearch_url: str = "http://127.0.0.1:19200"
    # http(s)://host:8123/db (a server) | chdb:///abs/path (in-process engine) | "" (no analytics)
    clickhouse_url: str = Field(default_factory=default_clickhouse_url)
    # The support index's alias; generations are <alias>-v1, -v2, … (several per cluster).
    search_alias: str = Field(default="orders-support", pattern=r"^[a-z][a-z0-9-]{0,60}$")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_lock_timeout_ms: int = Field(default=5000, ge=100)
    db_statement_timeout_ms: int = Field(default=15000, ge=100)

    # Machines' keys. Production names them (workers need none: only the API reads them).
    api_keys: str = DEV_API_KEYS
    # Console sessions (``web/session.py``): comma-separated secrets; the first signs new
    # cookies, every one verifies (rotation: put the new secret first, drop the old one a
    # session lifetime later). Required in production, a development secret otherwise.
    session_secrets: str = Field(default="", repr=False)
    session_lifetime_seconds: int = Field(default=8 * 3600, ge=1, le=30 * 86400)
    # Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-Proto is believed
    # when deciding whether a cookie gets ``Secure``. None by default: a header anyone can
    # send proves nothing.
    trusted_proxies: str = ""
    # Staff sign-in throttling (``staff/throttle.py``): failed attempts per account and per
    # client address in a fixed window, then 429 with Retry-After until the window ends. An
    # address gets more: several people may sign in from one office.
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(default=20, ge=1, le=100_000)
    login_window_seconds: int = Field(default=900, ge=1, le=86_400)

    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    idempotency_lease_seconds: int = Field(default=60, ge=1)

    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    refund_window_days: int = Field(default=30, ge=0)
    risk_large_amount_minor: int = Field(default=100_000, ge=1)
    risk_velocity_window_seconds: int = Field(default=3600, ge=1)
    risk_velocity_max_orders: int = Field(default=5, ge=1)

    payment_timeout_seconds: float = Field(default=5.0, gt=0)
    payment_slow_seconds: float = Field(default=1.5, ge=0)
    reconcile_after_seconds: float = Field(default=30.0, ge=0)

    stream_name: str = "orders.events"
    relay_batch_size: int = Field(default=2000, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=1.0, gt=0)  # idle, armed: NOTIFY wakes it sooner
    relay_busy_poll_seconds: float = Field(default=0.04, gt=0)  # while rows keep coming
    relay_coalesce_seconds: float = Field(default=0.005, ge=0)  # after a NOTIFY, gather a batch
    relay_publish_delay_seconds: float = Field(default=0.0, ge=0)
    # Replicas that must have the XADDs (Redis WAIT) before rows count as published; 0: none.
    relay_min_replicas: int = Field(default=0, ge=0)
    relay_replica_timeout_ms: int = Field(default=1000, ge=1)  # 0 would make WAIT block forever
    metrics_host: str = "127.0.0.1"
    relay_metrics_port: int = Field(default=9101, ge=0, le=65535)
    stream_retention_seconds: float = Field(default=3600.0, ge=0)
    # Published outbox rows older than this move to outbox_archive (orders-cqrs cleanup);
    # archived rows are kept forever unless the archive retention is set.
    outbox_retention_seconds: float = Field(default=7 * 24 * 3600.0, ge=0)
    outbox_archive_retention_seconds: float | None = Field(default=None, ge=0)
    outbox_archive_batch_size: int = Field(default=5000, ge=1, le=50_000)

    projection_batch_size: int = Field(default=1000, ge=1, le=5000)
    projection_block_ms: int = Field(default=1000, ge=1)
    projection_claim_idle_ms: int = Field(default=30_000, ge=100)
    projection_max_attempts: int = Field(default=5, ge=1)
    projection_retry_base_seconds: float = Field(default=0.2, ge=0)
    projection_metrics_port: int = Field(default=9102, ge=0, le=65535)
    reconciler_metrics_port: int = Field(default=9103, ge=0, le=65535)  # reconcile --loop
    # Where to register with Prometheus' file-based discovery ("": don't; `make dev` sets it).
    prometheus_sd_dir: str = ""
    # Prometheus' HTTP API (http(s)://host:port), read by the ops page for lag over the last
    # hour; "" (the default) turns that chart off.
    prometheus_url: str = ""
    # ClickHouse wants few large inserts: the analytics projector reads bigger batches.
    analytics_batch_size: int = Field(default=1000, ge=1, le=10_000)

    # An order a read model lacks for longer than this is drift, not lag (``verify``).
    freshness_slo_seconds: float = Field(default=60.0, ge=0)
    read_wait_budget_seconds: float = Field(default=2.0, ge=0, le=30)

    # An order is stuck when it sits in a non-final state longer than its SLA (DESIGN §3).
    stuck_authorizing_seconds: int = Field(default=300, ge=1)  # PENDING_PAYMENT since placed_at
    stuck_authorized_seconds: int = Field(default=3600, ge=1)  # AUTHORIZED since authorized_at
    stuck_captured_seconds: int = Field(default=172_800, ge=1)  # CAPTURED since captured_at

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("clickhouse_url")
    @classmethod
    def _known_clickhouse_url(cls, value: str) -> str:
        url = value.strip()
        if not url:
            return url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            return url
        if parts.scheme == "chdb" and not parts.netloc and parts.path.startswith("/"):
            return url
        raise ValueError("ORDERS_CLICKHOUSE_URL is http(s)://host:port/db or chdb:///abs/path")

    @field_validator("prometheus_url")
    @classmethod
    def _known_prometheus_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if url and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError("ORDERS_PROMETHEUS_URL is http(s)://host:port, or empty for off")
        return url

    @field_validator("trusted_proxies")
    @classmethod
    def _known_proxies(cls, value: str) -> str:
        for item in _items(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as error:
                raise ValueError(f"ORDERS_TRUSTED_PROXIES: {item!r} is no IP or CIDR") from error
        return value

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Settings:
        clients = parse_api_keys(self.api_keys)
        if self.environment != "production":
            return self
        dev = {c.key_sha256 for c in parse_api_keys(DEV_API_KEYS)}
        if self._names_api_keys and any(c.key_sha256 in dev for c in clients):
            raise ValueError("ORDERS_API_KEYS holds a development key in production")
        for secret in _items(self.session_secrets):
            if secret == DEV_SESSION_SECRET or len(secret) < SESSION_SECRET_MIN_CHARS:
                raise ValueError(
                    "ORDERS_SESSION_SECRETS: production secrets are random strings of at least"
                    f" {SESSION_SECRET_MIN_CHARS} characters, never the development secret"
                )
        return self

    @property
    def logs_json(self) -> bool:
        """Whether log lines are JSON objects (ORDERS_LOG_FORMAT, else: in production)."""
        if self.log_format is not None:
            return self.log_format == "json"
        return self.environment == "production"

    @property
    def drain_seconds(self) -> float:
        """How long the API drains on SIGTERM before it stops accepting requests."""
        if self.shutdown_drain_seconds is not None:
            return self.shutdown_drain_seconds
        return 5.0 if self.environment == "production" else 0.0

    def stale_after_seconds(self, poll_seconds: float) -> float:
        """How long a worker polling every ``poll_seconds`` may go without finishing a round
        before its /healthz says it is stuck."""
        if self.worker_stale_after_seconds is not None:
            return self.worker_stale_after_seconds
        return max(10.0, 3 * poll_seconds)

    @property
    def _names_api_keys(self) -> bool:
        return "api_keys" in self.model_fields_set

    @property
    def api_clients(self) -> tuple[ApiClient, ...]:
        """The configured API keys, as digests with their roles (none in a production process
        that was given none: a worker)."""
        if self.environment == "production" and not self._names_api_keys:
            return ()
        return parse_api_keys(self.api_keys)

    @property
    def session_keys(self) -> tuple[str, ...]:
        """The console's signing secrets, the signing one first."""
        named = _items(self.session_secrets)
        if named or self.environment == "production":
            return named
        return (DEV_SESSION_SECRET,)

    @property
    def proxy_networks(self) -> tuple[ProxyNetwork, ...]:
        """The trusted reverse proxies."""
        return tuple(
            ipaddress.ip_network(item, strict=False) for item in _items(self.trusted_proxies)
        )

    def require_serving(self) -> None:
        """Refuse to serve HTTP without what the API needs and workers do not (fail fast,
        naming the setting): production names its API keys and its session secrets."""
        if self.environment != "production":
            return
        if not self._names_api_keys:
            raise ValueError("ORDERS_API_KEYS is required in production (role:key pairs)")
        if not self.session_keys:
            raise ValueError(
                "ORDERS_SESSION_SECRETS is required in production: the console's sessions are"
                " signed with it (one or more random strings, comma-separated)"
            )


def _items(spec: str) -> tuple[str, ...]:
    """The non-empty entries of a comma-separated setting."""
    return tuple(item.strip() for item in spec.split(",") if item.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
