"""payment voids: a payment attempt is an authorization or the void of one

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 23:00:00.000000

Cancelling an authorized order releases its hold with the provider through the same
attempt → call → result steps as an authorization (``write/payments/voiding.py``); the
attempt's ``kind`` tells the reconciler which call to finish. Existing rows are all
authorizations.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "payment_attempts",
        sa.Column(
            "kind", sa.String(length=16), server_default=sa.text("'authorize'"), nullable=False
        ),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("payment_attempts", "kind")
