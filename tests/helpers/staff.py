"""Staff accounts for the console tests: created in the test database, signed in over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg

from orders_cqrs.staff.passwords import Passwords
from tests.helpers.stores import plain_dsn

PASSWORD = "correct horse battery staple"
GRACE = ("Grace Hopper", "grace.hopper@staff.example", "support")
OLU = ("Olu Operator", "olu@staff.example", "ops")


def add_staff(
    database_url: str,
    name: str,
    email: str,
    role: str,
    password: str = PASSWORD,
    *,
    password_hash: str | None = None,
) -> int:
    """An enabled account, as ``orders-cqrs staff add`` leaves it; its id."""
    stored = password_hash or Passwords().hash(password)
    with psycopg.connect(plain_dsn(database_url), autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO staff_accounts (name, email, role, password_hash)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            (name, email.lower(), role, stored),
        ).fetchone()
    assert row is not None
    return int(row[0])


def sign_in_response(
    base_url: str, console: str, email: str, password: str = PASSWORD, **headers: str
) -> httpx.Response:
    """The answer to a sign-in form posted as the console's script posts it (JSON)."""
    return httpx.post(
        f"{base_url}/{console}/login",
        json={"email": email, "password": password},
        headers=headers,
        timeout=15,
    )


def sign_in(base_url: str, console: str, email: str, password: str = PASSWORD) -> str:
    """Sign in to ``console``; the session cookie's value."""
    response = sign_in_response(base_url, console, email, password)
    assert response.status_code == 303, response.text
    return response.cookies[f"orders_{console}"]


@contextmanager
def staff_client(
    base_url: str, email: str, password: str = PASSWORD, console: str = "support"
) -> Iterator[httpx.Client]:
    """An HTTP client signed in to ``console`` as the account (posting JSON, as the script)."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=15) as client:
        login = client.post(
            f"/{console}/login",
            json={"email": email, "password": password, "next": f"/{console}"},
        )
        assert login.status_code == 303, login.text
        yield client


def audit_people(db: psycopg.Connection[Any], command: str) -> list[tuple[Any, ...]]:
    """Who the audit log says sent ``command``: (actor, actor_name, actor_email, outcome)."""
    return db.execute(
        "SELECT actor, actor_name, actor_email, outcome FROM audit_log"
        " WHERE command = %s ORDER BY id",
        (command,),
    ).fetchall()
