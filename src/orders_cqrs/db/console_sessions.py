"""Console sessions in PostgreSQL: opened at sign-in, found per page, revoked, cleaned up.

The cookie carries a random id; this table holds only its SHA-256, so reading the table (a
backup, a replica) gives nobody a session. Every call is its own short transaction: a page
view reads one row by primary key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from orders_cqrs.db.tables import console_sessions, staff_accounts

STAFF = "staff"  # the principal kind of a staff account's session

# One bounded batch of expired rows. The outer ``expires_at < now()`` is re-checked by
# PostgreSQL on the row it finally deletes, whatever the plan (see ``db/receipts.py``).
_DELETE_EXPIRED = text(
    """
    WITH gone AS (
      DELETE FROM console_sessions WHERE id_sha256 IN (
        SELECT id_sha256 FROM console_sessions WHERE expires_at < now() LIMIT :batch)
        AND expires_at < now()
      RETURNING 1)
    SELECT count(*) FROM gone
    """
)


@dataclass(frozen=True, slots=True)
class SessionPrincipal:
    """Who a session belongs to: a staff account (``staff``, its id) with the name and email
    it has now; ``role`` is the console it opens."""

    kind: str
    id: str
    display_name: str
    role: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A new session: the id for the cookie (never stored) and when it ends."""

    raw_id: str
    expires_at: datetime


def session_digest(raw_id: str) -> str:
    """The stored form of a session id."""
    return hashlib.sha256(raw_id.encode()).hexdigest()


class ConsoleSessionStore:
    """Rows of ``console_sessions``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open(self, principal: SessionPrincipal, lifetime_seconds: int) -> OpenedSession:
        """A new session for ``principal`` that ends ``lifetime_seconds`` from now (the
        database's clock, the one every check uses)."""
        raw_id = secrets.token_urlsafe(32)
        statement = (
            console_sessions.insert()
            .values(
                id_sha256=session_digest(raw_id),
                principal_kind=principal.kind,
                principal_id=principal.id,
                display_name=principal.display_name,
                role=principal.role,
                staff_account_id=int(principal.id) if principal.kind == STAFF else None,
                expires_at=func.now() + timedelta(seconds=lifetime_seconds),
            )
            .returning(console_sessions.c.expires_at)
        )
        async with self._engine.begin() as conn:
            expires_at = (await conn.execute(statement)).scalar_one()
        return OpenedSession(raw_id=raw_id, expires_at=expires_at)

    async def find(self, raw_id: str) -> SessionPrincipal | None:
        """The principal of a live session: unrevoked, unexpired and, for a staff account's,
        its account enabled and still of the session's role, now (one indexed join per page:
        disabling an account ends its sessions on their next request)."""
        c, a = console_sessions.c, staff_accounts.c
        query = (
            select(c.principal_kind, c.principal_id, func.coalesce(a.name, c.display_name))
            .add_columns(c.role, a.email)
            .select_from(console_sessions.outerjoin(staff_accounts, a.id == c.staff_account_id))
            .where(
                c.id_sha256 == session_digest(raw_id),
                c.revoked_at.is_(None),
                c.expires_at > func.now(),
                or_(
                    c.staff_account_id.is_(None),
                    and_(a.disabled_at.is_(None), a.role == c.role),
                ),
            )
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else SessionPrincipal(*row)

    async def revoke(self, raw_id: str) -> bool:
        """End one session (sign-out, or its principal is gone); False if it was not live."""
        c = console_sessions.c
        statement = (
            update(console_sessions)
            .where(c.id_sha256 == session_digest(raw_id), c.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount > 0

    async def revoke_principal(self, kind: str, principal_id: str) -> int:
        """End every live session of a principal (a removed key, a disabled account)."""
        c = console_sessions.c
        statement = (
            update(console_sessions)
            .where(
                c.principal_kind == kind,
                c.principal_id == principal_id,
                c.revoked_at.is_(None),
                c.expires_at > func.now(),
            )
            .values(revoked_at=func.now())
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount

    async def delete_expired(self, batch: int = 1000) -> int:
        """Delete up to ``batch`` expired sessions (revoked or not); how many went."""
        async with self._engine.begin() as conn:
            return int((await conn.execute(_DELETE_EXPIRED, {"batch": batch})).scalar_one())
