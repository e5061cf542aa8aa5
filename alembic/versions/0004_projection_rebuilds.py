"""projection rebuilds: who is rebuilding which projection, how far, and how it ended

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00.000000

A rebuild is exclusive across processes and machines: its process holds an advisory lock on
a connection of its own for the whole rebuild, and records its state here, so every API
replica, ``GET /v1/projections`` and the ops page see the same rebuild (``db/rebuilds.py``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "projection_rebuilds",
        sa.Column("projection", sa.String(length=64), nullable=False),
        sa.Column("rebuild_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("holder_pid", sa.Integer(), nullable=False),
        sa.Column("old_generation", sa.String(length=200), nullable=True),
        sa.Column("new_generation", sa.String(length=200), nullable=True),
        sa.Column("consumer_group", sa.String(length=255), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("scanned", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("caught_up", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('running', 'done', 'failed')",
            name=op.f("ck_projection_rebuilds_known_state"),
        ),
        sa.PrimaryKeyConstraint("projection", name=op.f("pk_projection_rebuilds")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("projection_rebuilds")
