"""``orders-cqrs staff`` against real PostgreSQL: accounts are added with a hashed password
read from stdin (never an argument), listed, and disabled with every live session ended."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg

from orders_cqrs.config import Settings
from orders_cqrs.staff.passwords import Passwords
from orders_cqrs.tooling.demo import seed_demo_staff
from tests.helpers.processes import run_cli
from tests.helpers.staff import PASSWORD


def staff(database_url: str, *args: str, password: str | None = None) -> Any:
    return run_cli(database_url, "staff", *args, input_text=password)


def open_sessions(db: psycopg.Connection[Any], account_id: int, count: int) -> None:
    """Live sessions of the account, as sign-ins leave them."""
    for n in range(count):
        digest = hashlib.sha256(f"session {account_id} {n}".encode()).hexdigest()
        db.execute(
            "INSERT INTO console_sessions (id_sha256, principal_kind, principal_id,"
            " display_name, role, expires_at, staff_account_id)"
            " VALUES (%s, 'staff', %s, 'x', 'support', now() + interval '1 hour', %s)",
            (digest, str(account_id), account_id),
        )


def test_staff_add_stores_an_argon2_hash_of_the_password_from_stdin(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    added = staff(
        database_url,
        "add",
        "--name",
        " Grace  Hopper ",
        "--email",
        "Grace.Hopper@Staff.Example",
        "--role",
        "support",
        "--password-stdin",
        password=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "added staff:1 Grace Hopper <grace.hopper@staff.example> (support)" in added.stdout
    [(name, email, role, stored, disabled)] = db.execute(
        "SELECT name, email, role, password_hash, disabled_at FROM staff_accounts"
    ).fetchall()
    assert (name, email, role, disabled) == (
        "Grace Hopper",
        "grace.hopper@staff.example",
        "support",
        None,
    )
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert Passwords().verify(stored, PASSWORD)  # the newline ended the line, it is not kept
    assert PASSWORD not in added.stdout + added.stderr


def test_staff_add_refuses_a_taken_email_in_any_case_a_weak_password_and_unknown_roles(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    def add(email: str, role: str = "support", password: str = PASSWORD) -> Any:
        return staff(
            database_url,
            "add",
            "--name",
            "Someone",
            "--email",
            email,
            "--role",
            role,
            "--password-stdin",
            password=password,
        )

    assert add("ada@staff.example").returncode == 0
    taken = add("ADA@staff.example")
    assert taken.returncode == 1 and "exists already" in taken.stderr
    weak = add("weak@staff.example", password="hunter2")
    assert weak.returncode == 2 and "at least 12 characters" in weak.stderr
    for role in ("admin", "checkout"):
        assert add("role@staff.example", role=role).returncode == 2
    assert add("not-an-email").returncode == 2
    # A password is never an argument: ps and shell histories would show it.
    argument = run_cli(
        database_url,
        "staff",
        "add",
        "--name",
        "X",
        "--email",
        "x@staff.example",
        "--role",
        "ops",
        "--password",
        PASSWORD,
    )
    assert argument.returncode == 2 and "No such option" in argument.stderr
    assert db.execute("SELECT email FROM staff_accounts").fetchall() == [("ada@staff.example",)]


def test_staff_list_shows_every_account_with_its_state_and_live_sessions(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    assert "no staff accounts" in staff(database_url, "list").stdout
    for name, email, role in (
        ("Grace Hopper", "grace@staff.example", "support"),
        ("Olu Operator", "olu@staff.example", "ops"),
    ):
        args = ("add", "--name", name, "--email", email, "--role", role, "--password-stdin")
        assert staff(database_url, *args, password=PASSWORD).returncode == 0
    open_sessions(db, 1, 2)
    assert staff(database_url, "disable", "olu@staff.example").returncode == 0
    listed = staff(database_url, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["id", "role", "state", "sessions", "email", "/", "name"]
    assert lines[1].split() == [
        "staff:1",
        "support",
        "active",
        "2",
        "grace@staff.example",
        "Grace",
        "Hopper",
    ]
    assert lines[2].split()[:5] == ["staff:2", "ops", "disabled", "0", "olu@staff.example"]
    assert "$argon2" not in listed.stdout


def test_staff_disable_ends_every_live_session_of_that_person_only(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    for email in ("grace@staff.example", "ada@staff.example"):
        args = ("add", "--name", "N", "--email", email, "--role", "support", "--password-stdin")
        assert staff(database_url, *args, password=PASSWORD).returncode == 0
    open_sessions(db, 1, 3)
    open_sessions(db, 2, 1)
    disabled = staff(database_url, "disable", "GRACE@staff.example")
    assert disabled.returncode == 0, disabled.stderr
    assert "disabled staff:1" in disabled.stdout and "ended 3 session(s)" in disabled.stdout
    live = db.execute(
        "SELECT staff_account_id, count(*) FROM console_sessions WHERE revoked_at IS NULL"
        " GROUP BY 1"
    ).fetchall()
    assert live == [(2, 1)]
    [(first_disabled,)] = db.execute(
        "SELECT disabled_at FROM staff_accounts WHERE id = 1"
    ).fetchall()
    again = staff(database_url, "disable", "grace@staff.example")
    assert again.returncode == 0 and "ended 0 session(s)" in again.stdout
    assert db.execute("SELECT disabled_at FROM staff_accounts WHERE id = 1").fetchone() == (
        first_disabled,
    )
    unknown = staff(database_url, "disable", "nobody@staff.example")
    assert unknown.returncode == 1 and "no account" in unknown.stderr
    enabled = staff(database_url, "enable", "grace@staff.example")
    assert enabled.returncode == 0
    assert db.execute("SELECT disabled_at FROM staff_accounts WHERE id = 1").fetchone() == (None,)


async def test_make_dev_seeds_one_enabled_demo_account_per_console_and_keeps_their_sessions(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    settings = Settings(database_url=database_url, environment="test")
    seeded = await seed_demo_staff(settings)
    assert sorted(role for _, _, role, _ in seeded) == ["ops", "support"]
    rows = db.execute(
        "SELECT email, role, password_hash FROM staff_accounts ORDER BY id"
    ).fetchall()
    for (_, email, role, password), (stored_email, stored_role, stored) in zip(
        seeded, rows, strict=True
    ):
        assert (stored_email, stored_role) == (email, role)
        assert Passwords().verify(stored, password)
    open_sessions(db, 1, 1)
    db.execute("UPDATE staff_accounts SET disabled_at = now() WHERE id = 2")
    await seed_demo_staff(settings)  # a restart of make dev
    assert db.execute("SELECT id, disabled_at FROM staff_accounts ORDER BY id").fetchall() == [
        (1, None),
        (2, None),
    ]
    live = db.execute("SELECT count(*) FROM console_sessions WHERE revoked_at IS NULL").fetchone()
    assert live == (1,)  # a password that still matches is left alone: nobody is signed out
