"""Staff accounts in PostgreSQL: added, found by email, disabled and enabled, re-passworded.

Disabling an account and ending its sessions happen in one transaction, so there is no moment
in which the account is disabled and a session of it still live (the console guard also
joins the account on every page, so even a session row missed here would open nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orders_cqrs.db.tables import console_sessions, staff_accounts


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """One person who may sign in to the console of their role."""

    id: int
    name: str
    email: str
    role: str
    password_hash: str
    created_at: datetime
    disabled_at: datetime | None

    @property
    def actor(self) -> str:
        """How commands, audit rows and events name this person (stable across renames)."""
        return f"staff:{self.id}"


@dataclass(frozen=True, slots=True)
class Listed:
    """An account as ``staff list`` shows it, with its live sessions."""

    account: StaffAccount
    live_sessions: int


class EmailTaken(Exception):
    """Another account has this email (in any case)."""


_COLUMNS = (
    staff_accounts.c.id,
    staff_accounts.c.name,
    staff_accounts.c.email,
    staff_accounts.c.role,
    staff_accounts.c.password_hash,
    staff_accounts.c.created_at,
    staff_accounts.c.disabled_at,
)


def _account(row: Any) -> StaffAccount:
    return StaffAccount(*row[: len(_COLUMNS)])


async def _end_sessions(conn: AsyncConnection, account_id: int) -> int:
    s = console_sessions.c
    ended = await conn.execute(
        update(console_sessions)
        .where(s.staff_account_id == account_id, s.revoked_at.is_(None), s.expires_at > func.now())
        .values(revoked_at=func.now())
    )
    return ended.rowcount


class StaffAccounts:
    """Rows of ``staff_accounts`` (emails arrive normalized: ``staff.accounts``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, *, name: str, email: str, role: str, password_hash: str) -> StaffAccount:
        """A new, enabled account; ``EmailTaken`` if the email has one."""
        statement = (
            staff_accounts.insert()
            .values(name=name, email=email, role=role, password_hash=password_hash)
            .returning(*_COLUMNS)
        )
        try:
            async with self._engine.begin() as conn:
                return _account((await conn.execute(statement)).one())
        except IntegrityError as error:
            if "uq_staff_accounts_email" in str(error.orig):
                raise EmailTaken(email) from error
            raise

    async def by_email(self, email: str) -> StaffAccount | None:
        """The account with this (normalized) email."""
        query = select(*_COLUMNS).where(staff_accounts.c.email == email)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _account(row)

    async def listed(self) -> list[Listed]:
        """Every account, oldest first, with how many sessions of it are live."""
        s = console_sessions.c
        live = (
            select(func.count())
            .where(
                s.staff_account_id == staff_accounts.c.id,
                s.revoked_at.is_(None),
                s.expires_at > func.now(),
            )
            .scalar_subquery()
        )
        query = select(*_COLUMNS, live).order_by(staff_accounts.c.id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Listed(_account(row), int(row[-1])) for row in rows]

    async def disable(self, email: str) -> tuple[StaffAccount | None, int]:
        """Disable the account and end its live sessions, together; how many ended.
        Disabling a disabled account keeps its first ``disabled_at``."""
        a = staff_accounts.c
        statement = (
            update(staff_accounts)
            .where(a.email == email)
            .values(disabled_at=func.coalesce(a.disabled_at, func.now()))
            .returning(*_COLUMNS)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(statement)).first()
            if row is None:
                return None, 0
            account = _account(row)
            return account, await _end_sessions(conn, account.id)

    async def enable(self, email: str) -> StaffAccount | None:
        """Let the account sign in again (its old sessions stay ended)."""
        statement = (
            update(staff_accounts)
            .where(staff_accounts.c.email == email)
            .values(disabled_at=None)
            .returning(*_COLUMNS)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _account(row)

    async def set_password(self, email: str, password_hash: str) -> tuple[StaffAccount | None, int]:
        """A new password; every session opened with the old one ends (how many)."""
        statement = (
            update(staff_accounts)
            .where(staff_accounts.c.email == email)
            .values(password_hash=password_hash)
            .returning(*_COLUMNS)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(statement)).first()
            if row is None:
                return None, 0
            account = _account(row)
            return account, await _end_sessions(conn, account.id)

    async def rehash(self, account_id: int, old_hash: str, new_hash: str) -> bool:
        """Replace a hash made with old parameters by one of the same password made with the
        current ones; only if it is still the hash that was verified (a password set in the
        meantime wins)."""
        a = staff_accounts.c
        statement = (
            update(staff_accounts)
            .where(and_(a.id == account_id, a.password_hash == old_hash))
            .values(password_hash=new_hash)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount > 0
