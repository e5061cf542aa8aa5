"""relay wake-up: only the first commit after the relay went idle sends a NOTIFY

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 16:30:00.000000

A transaction that issued NOTIFY takes PostgreSQL's database-wide notification-queue lock at
commit, so a NOTIFY on every checkout serialises all commits. The relay now polls while it
has work and, when it goes idle, arms ``relay_wakeup``; the outbox trigger disarms it and
notifies only if it was armed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ALWAYS_NOTIFY = """
    CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('orders_outbox', '');
        RETURN NULL;
    END $$;
"""


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "relay_wakeup",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("armed", sa.Boolean(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_relay_wakeup_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_wakeup")),
    )
    # Armed from the start: the first commit after the migration wakes a waiting relay.
    op.execute("INSERT INTO relay_wakeup (id, armed) VALUES (1, true)")
    # Concurrency: while disarmed (the relay is busy and polling), ``WHERE armed`` matches no
    # row, so a checkout takes no lock and sends nothing. While armed, the first inserting
    # transaction locks the row and flips it; others that arrive before it commits wait for
    # that one row lock only, then re-check ``armed`` (READ COMMITTED re-evaluates the WHERE
    # on the committed row), find it false and carry on: one NOTIFY per idle period.
    # Under REPEATABLE READ the re-check is a serialization failure instead; it means another
    # transaction disarmed (and notifies), so it is swallowed rather than failing a checkout.
    # The relay closes the remaining race (a trigger that ran just before the arm committed)
    # by waiting for the transactions in flight at arming time; see Relay._arm.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE relay_wakeup SET armed = false WHERE armed;
            IF FOUND THEN
                PERFORM pg_notify('orders_outbox', '');
            END IF;
            RETURN NULL;
        EXCEPTION WHEN serialization_failure THEN
            RETURN NULL;
        END $$;
        """
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.execute(_ALWAYS_NOTIFY)
    op.drop_table("relay_wakeup")
