"""staff accounts: people sign in to the consoles by email and password

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 02:30:00.000000

Support and ops people signed in with a shared API key, so every note read ``support:<hex>``.
A staff account is a person (name, email, role, an argon2 hash of their password); a console
session points at its account, so disabling the account ends its sessions (the guard joins
the account on every page). Failed sign-ins are counted per account and per client address
in ``login_throttle``. The audit log and the support notes keep the person's name as it was
when they acted: a later rename must not rewrite history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('support', 'ops')", name=op.f("ck_staff_accounts_staff_role")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_staff_accounts_email_lowercase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_accounts_email")),
    )
    op.add_column("console_sessions", sa.Column("staff_account_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_console_sessions_staff_account_id_staff_accounts"),
        "console_sessions",
        "staff_accounts",
        ["staff_account_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(
        op.f("ix_console_sessions_staff_account_id"), "console_sessions", ["staff_account_id"]
    )
    op.create_check_constraint(
        op.f("ck_console_sessions_staff_session_has_account"),
        "console_sessions",
        "(principal_kind = 'staff') = (staff_account_id IS NOT NULL)",
    )
    op.create_table(
        "login_throttle",
        sa.Column("bucket", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_login_throttle")),
    )
    op.create_index(
        op.f("ix_login_throttle_window_started_at"), "login_throttle", ["window_started_at"]
    )
    op.add_column("audit_log", sa.Column("actor_name", sa.String(length=200), nullable=True))
    op.add_column("audit_log", sa.Column("actor_email", sa.String(length=254), nullable=True))
    op.add_column("support_notes", sa.Column("author_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("support_notes", "author_name")
    op.drop_column("audit_log", "actor_email")
    op.drop_column("audit_log", "actor_name")
    op.drop_index(op.f("ix_login_throttle_window_started_at"), table_name="login_throttle")
    op.drop_table("login_throttle")
    op.execute("DELETE FROM console_sessions WHERE principal_kind = 'staff'")
    op.drop_constraint(
        op.f("ck_console_sessions_staff_session_has_account"), "console_sessions", type_="check"
    )
    op.drop_index(op.f("ix_console_sessions_staff_account_id"), table_name="console_sessions")
    op.drop_constraint(
        op.f("fk_console_sessions_staff_account_id_staff_accounts"),
        "console_sessions",
        type_="foreignkey",
    )
    op.drop_column("console_sessions", "staff_account_id")
    op.drop_table("staff_accounts")
