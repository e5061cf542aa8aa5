"""rebuild dead letters: how many events a rebuild parked instead of applying

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 23:00:00.000000

A rebuild isolates an event its new generation refuses and parks it as a dead letter under
the projection's name instead of aborting; its record says how many it parked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "projection_rebuilds",
        sa.Column("dead_lettered", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("projection_rebuilds", "dead_lettered")
