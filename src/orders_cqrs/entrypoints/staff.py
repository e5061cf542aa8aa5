"""``orders-cqrs staff``: the people who sign in to the consoles.

Passwords come from a hidden prompt (typed twice) or, for scripts, the first line of standard
input with ``--password-stdin``; never from an argument, which ``ps`` and shell histories
would show. Whoever can run this command against the database administers the accounts.
"""

from __future__ import annotations

import sys

import typer

from orders_cqrs.bootstrap import Container
from orders_cqrs.db.staff_accounts import EmailTaken, StaffAccount
from orders_cqrs.entrypoints.operations import with_container
from orders_cqrs.staff.accounts import (
    STAFF_ROLES,
    InvalidAccount,
    valid_email,
    valid_name,
    valid_role,
)
from orders_cqrs.staff.passwords import Passwords, WeakPassword, check_policy

staff_app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help=__doc__
)
PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="read the password from the first line of standard input"
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _email(raw: str) -> str:
    try:
        return valid_email(raw)
    except InvalidAccount as error:
        raise _fail(str(error), 2) from error


def _password(from_stdin: bool) -> str:
    """The new password, checked against the policy."""
    if from_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        return check_policy(password)
    except WeakPassword as error:
        raise _fail(str(error), 2) from error


def _describe(account: StaffAccount) -> str:
    return f"{account.actor} {account.name} <{account.email}> ({account.role})"


@staff_app.command("add")
def add(
    name: str = typer.Option(..., help="the person's name, as pages and the history show it"),
    email: str = typer.Option(..., help="what they sign in with (unique, any case)"),
    role: str = typer.Option(..., help=f"the console they open: {' | '.join(STAFF_ROLES)}"),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create an enabled account."""
    try:
        fields = (valid_name(name), valid_email(email), valid_role(role))
    except InvalidAccount as error:
        raise _fail(str(error), 2) from error
    password_hash = Passwords().hash(_password(password_stdin))

    async def work(container: Container) -> StaffAccount:
        person, address, chosen = fields
        return await container.staff_accounts.add(
            name=person, email=address, role=chosen, password_hash=password_hash
        )

    try:
        account = with_container(work)
    except EmailTaken as error:
        raise _fail(f"an account with the email {fields[1]} exists already") from error
    typer.echo(f"added {_describe(account)}")


@staff_app.command("disable")
def disable(email: str = typer.Argument(..., help="the account's email")) -> None:
    """Disable the account and end every session of it at once."""
    address = _email(email)

    async def work(container: Container) -> tuple[StaffAccount | None, int]:
        return await container.staff_accounts.disable(address)

    account, ended = with_container(work)
    if account is None:
        raise _fail(f"no account has the email {address}")
    typer.echo(f"disabled {_describe(account)}; ended {ended} session(s)")


@staff_app.command("enable")
def enable(email: str = typer.Argument(..., help="the account's email")) -> None:
    """Let a disabled account sign in again."""
    address = _email(email)

    async def work(container: Container) -> StaffAccount | None:
        return await container.staff_accounts.enable(address)

    account = with_container(work)
    if account is None:
        raise _fail(f"no account has the email {address}")
    typer.echo(f"enabled {_describe(account)}")


@staff_app.command("set-password")
def set_password(
    email: str = typer.Argument(..., help="the account's email"),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Give the account a new password; its sessions end (whoever knew the old one is out)."""
    address = _email(email)
    password_hash = Passwords().hash(_password(password_stdin))

    async def work(container: Container) -> tuple[StaffAccount | None, int]:
        return await container.staff_accounts.set_password(address, password_hash)

    account, ended = with_container(work)
    if account is None:
        raise _fail(f"no account has the email {address}")
    typer.echo(f"new password for {_describe(account)}; ended {ended} session(s)")


@staff_app.command("list")
def list_accounts() -> None:
    """Every account: id, role, state, live sessions, email and name."""

    async def work(container: Container) -> list[tuple[StaffAccount, int]]:
        return [(row.account, row.live_sessions) for row in await container.staff_accounts.listed()]

    rows = with_container(work)
    if not rows:
        typer.echo("no staff accounts (add one: orders-cqrs staff add --name … --email … --role …)")
        return
    typer.echo(f"{'id':<10} {'role':<8} {'state':<9} {'sessions':>8}  email / name")
    for account, live in rows:
        state = "active" if account.disabled_at is None else "disabled"
        typer.echo(
            f"{account.actor:<10} {account.role:<8} {state:<9} {live:>8}"
            f"  {account.email}  {account.name}"
        )
