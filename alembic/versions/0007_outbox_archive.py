"""outbox archive: published rows past the retention leave the hot table, history stays readable

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 23:00:00.000000

``orders-cqrs cleanup`` moves published outbox rows older than
``ORDERS_OUTBOX_RETENTION_SECONDS`` into ``outbox_archive`` in bounded batches (one
``DELETE … RETURNING`` into ``INSERT`` per batch), keeping their position and txid. The
``event_log`` view is archive ∪ outbox: the fenced scan of rebuilds reads it, so no history
is lost by archiving. If the archive itself is pruned (``ORDERS_OUTBOX_ARCHIVE_RETENTION_SECONDS``),
``event_log_horizon`` records how far, and a rebuild that would lose orders refuses.

Chained after 0004 on its branch; re-chain to 0005 (console sessions) when both are merged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from orders_cqrs.db.tables import Xid8

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VIEW = """
    CREATE VIEW event_log AS
    SELECT position, event_id, aggregate_id, aggregate_version, event_type, schema_version,
           occurred_at, headers, payload, published_at, txid
      FROM outbox_archive
    UNION ALL
    SELECT position, event_id, aggregate_id, aggregate_version, event_type, schema_version,
           occurred_at, headers, payload, published_at, txid
      FROM outbox
"""
_RESTORE = """
    INSERT INTO outbox (position, event_id, aggregate_id, aggregate_version, event_type,
                        schema_version, occurred_at, headers, payload, published_at, txid)
    OVERRIDING SYSTEM VALUE
    SELECT position, event_id, aggregate_id, aggregate_version, event_type, schema_version,
           occurred_at, headers, payload, published_at, txid
      FROM outbox_archive
"""


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "outbox_archive",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("aggregate_id", sa.Uuid(), nullable=False),
        sa.Column("aggregate_version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("schema_version", sa.SmallInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("txid", Xid8(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox_archive")),
        sa.UniqueConstraint(
            "aggregate_id",
            "aggregate_version",
            name=op.f("uq_outbox_archive_aggregate_id_aggregate_version"),
        ),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_archive_event_id")),
    )
    op.create_table(
        "event_log_horizon",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column(
            "pruned_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_event_log_horizon_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_log_horizon")),
    )
    # UNION ALL of two tables ordered by the same primary key: a scan ``WHERE position > n
    # ORDER BY position LIMIT k`` on the view is a Merge Append of two index scans.
    op.execute(_VIEW)


def downgrade() -> None:
    """Downgrade schema: archived rows go back into the outbox, nothing is lost."""
    op.execute("DROP VIEW event_log")
    op.execute(_RESTORE)
    op.drop_table("event_log_horizon")
    op.drop_table("outbox_archive")
