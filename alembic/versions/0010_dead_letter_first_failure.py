"""dead letter first failure: when an event first failed, beside when it last failed

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 02:30:00.000000

``failed_at`` moves with every failure (a replay that fails parks the event again), so the
ops page could not say how long an event has been parked. ``first_failed_at`` stays put while
the letter is open; existing rows start from their last failure, the best we know.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "projection_dead_letters",
        sa.Column(
            "first_failed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.execute("UPDATE projection_dead_letters SET first_failed_at = failed_at")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("projection_dead_letters", "first_failed_at")
