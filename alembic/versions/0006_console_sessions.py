"""console sessions: server-side sign-ins of the support and ops pages

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 23:00:00.000000

The consoles' cookies carried a client id and an expiry signed with the API key's digest, so
anyone holding a digest could mint one, and nothing could end a session early. A session is
now a row here, found by the SHA-256 of a random id that the cookie carries (signed with a
server secret): sign-out and a removed key revoke it, and it ends at issue time + lifetime.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "console_sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("principal_kind", sa.String(length=32), nullable=False),
        sa.Column("principal_id", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('support', 'ops')", name=op.f("ck_console_sessions_console_role")
        ),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_console_sessions_expires_after_creation")
        ),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_console_sessions")),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_index(
        "ix_console_sessions_principal", "console_sessions", ["principal_kind", "principal_id"]
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_console_sessions_principal", table_name="console_sessions")
    op.drop_index("ix_console_sessions_expires_at", table_name="console_sessions")
    op.drop_table("console_sessions")
