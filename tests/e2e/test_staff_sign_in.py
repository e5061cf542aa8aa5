"""Staff sign-in over HTTP against a real API and PostgreSQL: the password, the account's
console, throttling per account and per address, disabling and re-passwording from the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg
from argon2 import PasswordHasher

from orders_cqrs.staff.passwords import Passwords
from tests.helpers.processes import ApiServer, run_cli
from tests.helpers.staff import GRACE, OLU, PASSWORD, add_staff, sign_in, sign_in_response

WRONG = "not the password at all"


def opens(api: ApiServer, cookie: str, console: str = "support") -> bool:
    page = httpx.get(f"{api.url}/{console}", cookies={f"orders_{console}": cookie})
    assert page.status_code in (200, 303), page.text
    return page.status_code == 200


def test_a_person_opens_only_the_console_of_their_role_with_their_own_password(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    add_staff(database_url, *GRACE)
    add_staff(database_url, *OLU)
    api = start_api()
    grace, olu = GRACE[1], OLU[1]
    assert sign_in_response(api.url, "support", grace, WRONG).status_code == 401
    unknown = sign_in_response(api.url, "support", "nobody@staff.example", PASSWORD)
    assert unknown.status_code == 401  # the same answer as a wrong password
    assert "do not match an account" in unknown.text
    assert sign_in_response(api.url, "support", "", "").status_code == 422
    wrong_console = sign_in_response(api.url, "support", olu)
    assert wrong_console.status_code == 403 and "signs in at /ops" in wrong_console.text
    assert "set-cookie" not in wrong_console.headers
    assert sign_in_response(api.url, "ops", grace).status_code == 403
    assert opens(api, sign_in(api.url, "support", grace.upper()))  # emails ignore case
    assert opens(api, sign_in(api.url, "ops", olu), "ops")
    home = httpx.get(
        f"{api.url}/support", cookies={"orders_support": sign_in(api.url, "support", grace)}
    )
    assert "Grace Hopper" in home.text


def test_six_bad_passwords_are_answered_429_with_retry_after_even_for_the_right_one(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    add_staff(database_url, *GRACE)
    add_staff(database_url, "Ada Lovelace", "ada@staff.example", "support")
    api = start_api()
    for _ in range(5):
        assert sign_in_response(api.url, "support", GRACE[1], WRONG).status_code == 401
    sixth = sign_in_response(api.url, "support", GRACE[1], WRONG)
    assert sixth.status_code == 429
    assert sixth.headers["content-type"].startswith("text/html")
    assert 880 <= int(sixth.headers["retry-after"]) <= 900  # the 15-minute window's rest
    assert "Too many failed sign-ins" in sixth.text
    right = sign_in_response(api.url, "support", GRACE[1].upper(), PASSWORD)
    assert right.status_code == 429 and "set-cookie" not in right.headers  # a guess is a guess
    # The address is not locked out for everybody: another person signs in from it.
    assert opens(api, sign_in(api.url, "support", "ada@staff.example"))


def test_a_successful_sign_in_starts_the_accounts_count_afresh(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    add_staff(database_url, *GRACE)
    api = start_api()
    for _ in range(4):
        assert sign_in_response(api.url, "support", GRACE[1], WRONG).status_code == 401
    sign_in(api.url, "support", GRACE[1])
    for _ in range(5):
        assert sign_in_response(api.url, "support", GRACE[1], WRONG).status_code == 401
    assert sign_in_response(api.url, "support", GRACE[1], WRONG).status_code == 429


def test_one_address_guessing_many_accounts_is_throttled(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    add_staff(database_url, *GRACE)
    api = start_api(login_max_failures_per_address="3", login_window_seconds="60")
    for n in range(3):
        guess = sign_in_response(api.url, "support", f"guess{n}@staff.example", WRONG)
        assert guess.status_code == 401
    blocked = sign_in_response(api.url, "support", GRACE[1])
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["retry-after"]) <= 60
    # Behind a proxy we trust, the browser's own address is counted, not the proxy's: the
    # nearest hop the proxy appended, never one the client made up in front of it.
    proxied = start_api(
        trusted_proxies="127.0.0.1,::1",
        login_max_failures_per_address="3",
        login_window_seconds="60",
    )
    guesser = {"X-Forwarded-For": "203.0.113.9"}
    for n in range(3):
        guess = sign_in_response(
            proxied.url, "support", f"other{n}@staff.example", WRONG, **guesser
        )
        assert guess.status_code == 401
    made_up = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    assert sign_in_response(proxied.url, "support", GRACE[1], **made_up).status_code == 429
    colleague = {"X-Forwarded-For": "203.0.113.10"}
    assert sign_in_response(proxied.url, "support", GRACE[1], **colleague).status_code == 303


def test_disabling_an_account_ends_its_sessions_at_once_and_enabling_needs_a_new_sign_in(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    add_staff(database_url, *GRACE)
    api = start_api()
    laptop, phone = sign_in(api.url, "support", GRACE[1]), sign_in(api.url, "support", GRACE[1])
    assert opens(api, laptop) and opens(api, phone)
    disabled = run_cli(database_url, "staff", "disable", GRACE[1])
    assert disabled.returncode == 0, disabled.stderr
    assert "ended 2 session(s)" in disabled.stdout
    assert not opens(api, laptop) and not opens(api, phone)
    refused = sign_in_response(api.url, "support", GRACE[1])
    assert refused.status_code == 403 and "disabled" in refused.text

    assert run_cli(database_url, "staff", "enable", GRACE[1]).returncode == 0
    assert not opens(api, laptop)  # an ended session stays ended
    assert opens(api, sign_in(api.url, "support", GRACE[1]))


def test_a_disabled_account_is_refused_by_the_guard_even_with_a_live_session_row(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    add_staff(database_url, *GRACE)
    api = start_api()
    cookie = sign_in(api.url, "support", GRACE[1])
    # Disabled behind the CLI's back: the session row is still live, the account is not.
    db.execute("UPDATE staff_accounts SET disabled_at = now()")
    assert not opens(api, cookie)
    db.execute("UPDATE staff_accounts SET disabled_at = NULL")
    assert opens(api, cookie)


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    add_staff(database_url, *GRACE)
    api = start_api()
    cookie = sign_in(api.url, "support", GRACE[1])
    new = "a brand new long passphrase"
    changed = run_cli(
        database_url, "staff", "set-password", GRACE[1], "--password-stdin", input_text=new
    )
    assert changed.returncode == 0, changed.stderr
    assert not opens(api, cookie)
    assert sign_in_response(api.url, "support", GRACE[1], PASSWORD).status_code == 401
    assert opens(api, sign_in(api.url, "support", GRACE[1], new))


def test_a_hash_with_old_parameters_is_replaced_when_its_password_signs_in(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    add_staff(database_url, *GRACE, password_hash=weak)
    api = start_api()
    assert sign_in_response(api.url, "support", GRACE[1], WRONG).status_code == 401
    assert db.execute("SELECT password_hash FROM staff_accounts").fetchone() == (weak,)
    sign_in(api.url, "support", GRACE[1])
    [(stored,)] = db.execute("SELECT password_hash FROM staff_accounts").fetchall()
    assert stored != weak and not Passwords().needs_rehash(stored)
    assert Passwords().verify(stored, PASSWORD)
    assert opens(api, sign_in(api.url, "support", GRACE[1]))
