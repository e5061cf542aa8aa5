"""The write model's tables, as SQLAlchemy Core metadata. Alembic migrations must match these
(``alembic check`` in CI proves it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import UserDefinedType


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id, ``pg_current_xact_id()``."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "XID8"


ischema_names["xid8"] = Xid8  # lets Alembic reflect the column back as the same type

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, *, nullable: bool = True, default_now: bool = False) -> Column[Any]:
    return Column(
        name,
        DateTime(timezone=True),
        nullable=nullable,
        server_default=func.now() if default_now else None,
    )


products = Table(
    "products",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False, server_default=text("0")),
    Column("sold", Integer, nullable=False, server_default=text("0")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    _ts("updated_at", nullable=False, default_now=True),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
    CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("customer_email", String(254), nullable=False),
    Column("customer_name", String(200), nullable=False),
    Column("customer_country", String(2)),
    Column("ship_country", String(2), nullable=False),
    Column("ship_region", String(100), nullable=False),
    Column("ship_city", String(100), nullable=False),
    Column("ship_postal_code", String(20), nullable=False),
    Column("ship_line1", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("risk_flags", ARRAY(Text), nullable=False),
    Column("stock_state", String(16), nullable=False),
    _ts("placed_at", nullable=False),
    _ts("updated_at", nullable=False),
    _ts("captured_at"),
    _ts("cancelled_at"),
    Column("cancel_reason", String(500)),
    CheckConstraint("version >= 1", name="version_positive"),
    Index(None, "customer_id", "placed_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.id"), primary_key=True),
    Column("line_no", SmallInteger, primary_key=True),
    Column("sku", String(64), ForeignKey("products.sku"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

payments = Table(
    "payments",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.id"), primary_key=True),
    Column("provider", String(32), nullable=False),
    Column("token", String(128), nullable=False),
    Column("state", String(32), nullable=False),
    Column("authorized", BigInteger, nullable=False, server_default=text("0")),
    Column("captured", BigInteger, nullable=False, server_default=text("0")),
    Column("refunded", BigInteger, nullable=False, server_default=text("0")),
    Column("authorization_ref", String(128)),
    Column("decline_reason", String(200)),
    _ts("updated_at", nullable=False, default_now=True),
    CheckConstraint("captured <= authorized", name="capture_within_authorized"),
    CheckConstraint("refunded <= captured", name="refund_within_captured"),
)

payment_attempts = Table(
    "payment_attempts",
    metadata,
    Column("id", Uuid, primary_key=True),  # also the provider's idempotency key
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    # 'authorize' or 'void' (the release of a cancelled order's hold); same steps, same key use
    Column("kind", String(16), nullable=False, server_default=text("'authorize'")),
    Column("provider_ref", String(128)),
    Column("decline_reason", String(200)),
    Column("receipt_client_id", String(64)),
    Column("receipt_key", String(255)),
    _ts("created_at", nullable=False, default_now=True),
    _ts("completed_at"),
    Index(None, "order_id"),
    Index(
        "ix_payment_attempts_pending",
        "created_at",
        postgresql_where=text("status = 'pending'"),
    ),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    _ts("created_at", nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    Index(None, "order_id"),
)

shipments = Table(
    "shipments",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.id"), primary_key=True),
    Column("carrier", String(64), nullable=False),
    Column("tracking_number", String(128), nullable=False),
    _ts("shipped_at", nullable=False),
    _ts("delivered_at"),
)

support_notes = Table(
    "support_notes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False),
    Column("author", String(64), nullable=False),
    Column("author_name", String(200)),  # the person's name when they wrote it (staff)
    Column("body", String(2000), nullable=False),
    _ts("created_at", nullable=False),
    Index(None, "order_id"),
)

idempotency_receipts = Table(
    "idempotency_receipts",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("command", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("response_status", SmallInteger),
    Column("response_body", LargeBinary),
    Column("response_headers", JSONB),
    Column("order_id", Uuid),
    _ts("created_at", nullable=False, default_now=True),
    _ts("expires_at", nullable=False),
    _ts("locked_until"),
    Index(None, "expires_at"),
    Index(None, "order_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", String(64), nullable=False),
    Column("command", String(32), nullable=False),
    Column("command_id", Uuid, nullable=False),
    Column("idempotency_key", String(255)),
    Column("order_id", Uuid),
    Column("version_before", Integer),
    Column("version_after", Integer),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(1000)),
    Column("problem_type", String(64)),
    # A person's name and email as they were when they acted (console commands only).
    Column("actor_name", String(200)),
    Column("actor_email", String(254)),
    Index(None, "order_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("position", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("aggregate_id", Uuid, nullable=False),
    Column("aggregate_version", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("schema_version", SmallInteger, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("headers", JSONB, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("txid", Xid8, nullable=False, server_default=text("pg_current_xact_id()")),
    UniqueConstraint("aggregate_id", "aggregate_version"),
    # The relay's hot path: only unpublished rows, in commit-ish order.
    Index("ix_outbox_unpublished", "position", postgresql_where=text("published_at IS NULL")),
)

# Published outbox rows past ``ORDERS_OUTBOX_RETENTION_SECONDS``, moved here by
# ``orders-cqrs cleanup`` (``db/outbox_archive.py``) with their position and txid unchanged, so
# the ``event_log`` view (archive ∪ outbox, migration 0006) reads as one log to the fenced
# scan. Only published rows come here: ``published_at`` is NOT NULL.
outbox_archive = Table(
    "outbox_archive",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("aggregate_id", Uuid, nullable=False),
    Column("aggregate_version", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("schema_version", SmallInteger, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("txid", Xid8, nullable=False),
    UniqueConstraint("aggregate_id", "aggregate_version"),
)

# One row once archived history has been pruned (``ORDERS_OUTBOX_ARCHIVE_RETENTION_SECONDS``):
# every event at or below ``position`` may be gone, and rebuilds check what they need first.
event_log_horizon = Table(
    "event_log_horizon",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("position", BigInteger, nullable=False),
    _ts("pruned_at", nullable=False, default_now=True),
    CheckConstraint("id = 1", name="one_row"),
)

dead_letters = Table(
    "projection_dead_letters",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("projection", String(64), nullable=False),
    Column("stream_id", String(64), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("aggregate_id", Uuid, nullable=False),
    Column("aggregate_version", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("entry", JSONB, nullable=False),
    Column("error", String(4000), nullable=False),
    Column("attempts", Integer, nullable=False),
    _ts("first_failed_at", nullable=False, default_now=True),  # stays while the letter is open
    _ts("failed_at", nullable=False, default_now=True),  # the last failure
    _ts("replayed_at"),
    UniqueConstraint("projection", "event_id"),
    Index(
        "ix_projection_dead_letters_open",
        "projection",
        "id",
        postgresql_where=text("replayed_at IS NULL"),
    ),
)

# One row: is an idle relay waiting for a NOTIFY? The outbox trigger disarms it and notifies
# only when it was armed, so a busy system sends no NOTIFY at all (migration 0003).
relay_wakeup = Table(
    "relay_wakeup",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("armed", Boolean, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)

# The last rebuild of each projection, written by the process that holds the projection's
# rebuild lock (an advisory lock on a connection of its own, ``db/rebuilds.py``). A row that
# says ``running`` while no session holds that lock is a rebuild whose process died.
projection_rebuilds = Table(
    "projection_rebuilds",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("rebuild_id", Uuid, nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_by", String(200), nullable=False),
    Column("holder_pid", Integer, nullable=False),
    Column("old_generation", String(200)),
    Column("new_generation", String(200)),
    Column("consumer_group", String(255)),
    Column("total", BigInteger),
    Column("scanned", BigInteger, nullable=False, server_default=text("0")),
    Column("caught_up", BigInteger),
    Column("dead_lettered", BigInteger, nullable=False, server_default=text("0")),
    Column("error", String(2000)),
    _ts("started_at", nullable=False, default_now=True),
    _ts("updated_at", nullable=False, default_now=True),
    _ts("finished_at"),
    CheckConstraint("state IN ('running', 'done', 'failed')", name="known_state"),
)

# Console sign-ins (``db/console_sessions.py``). The browser holds only a random id, signed
# with the server's secret; the row holds its SHA-256 (a leaked table mints no cookie), who
# signed in and until when. The principal is a kind and an id: a staff account (``staff``, its
# id, also in ``staff_account_id`` so that the guard can join the account on every page).
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("principal_kind", String(32), nullable=False),
    Column("principal_id", String(200), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    _ts("created_at", nullable=False, default_now=True),
    _ts("expires_at", nullable=False),
    _ts("revoked_at"),
    CheckConstraint("role IN ('support', 'ops')", name="console_role"),
    CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    Index("ix_console_sessions_expires_at", "expires_at"),
    Index("ix_console_sessions_principal", "principal_kind", "principal_id"),
    Column("staff_account_id", BigInteger, ForeignKey("staff_accounts.id", ondelete="CASCADE")),
    CheckConstraint(
        "(principal_kind = 'staff') = (staff_account_id IS NOT NULL)",
        name="staff_session_has_account",
    ),
    Index(None, "staff_account_id"),
)

# The people who sign in to the consoles (``db/staff_accounts.py``). Emails are stored
# lowercased, so the unique constraint is case-insensitive.
staff_accounts = Table(
    "staff_accounts",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    _ts("created_at", nullable=False, default_now=True),
    _ts("disabled_at"),
    CheckConstraint("role IN ('support', 'ops')", name="staff_role"),
    CheckConstraint("email = lower(email)", name="email_lowercase"),
)

# Sign-in attempts per bucket (an account's email digest, a client address) in a fixed
# window (``db/login_throttle.py``).
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("bucket", String(100), primary_key=True),
    Column("attempts", Integer, nullable=False),
    _ts("window_started_at", nullable=False),
    Index(None, "window_started_at"),
)
