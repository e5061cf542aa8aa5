"""Console sessions over HTTP against a real API and PostgreSQL: what opens a console, and what
ends a session (sign-out, expiry, a removed key, a retired secret)."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from orders_cqrs.config import hash_api_key
from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, SUPPORT_KEY
from tests.helpers.processes import ApiServer, run_cli, worker_env
from tests.helpers.stores import ROOT

OLD_SECRET = "old-console-secret-0123456789abcdef"
NEW_SECRET = "new-console-secret-fedcba9876543210"


def sign_in(base_url: str, console: str = "support", key: str = SUPPORT_KEY, **headers: str) -> str:
    """Sign in to ``console``; the session cookie's value."""
    response = httpx.post(f"{base_url}/{console}/login", json={"api_key": key}, headers=headers)
    assert response.status_code == 303, response.text
    return response.cookies[f"orders_{console}"]


def opens_console(base_url: str, cookie: str, console: str = "support") -> bool:
    """Does this cookie open the console's home page (rather than send us to sign in)?"""
    page = httpx.get(f"{base_url}/{console}", cookies={f"orders_{console}": cookie})
    assert page.status_code in (200, 303), page.text
    return page.status_code == 200


def session_rows(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT principal_kind, principal_id, role, expires_at - created_at, revoked_at"
        " FROM console_sessions ORDER BY created_at"
    ).fetchall()


def test_a_cookie_minted_from_a_key_digest_opens_no_console(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    for console, key in (("support", SUPPORT_KEY), ("ops", OPS_KEY)):
        # Everything the old scheme needed: the digest that the README says is safe to store.
        digest = hash_api_key(key)
        payload = f"{console}:{digest[:12]}|{int(time.time()) + 3600}"
        message = f"orders-cqrs {console} session\n{payload}".encode()
        mac = hmac.new(digest.encode(), message, hashlib.sha256).hexdigest()
        assert not opens_console(api.url, f"{payload}|{mac}", console)
        assert opens_console(api.url, sign_in(api.url, console, key), console)
    assert [(kind, role) for kind, _, role, _, _ in session_rows(db)] == [
        ("api_key", "support"),
        ("api_key", "ops"),
    ]


def test_signing_out_revokes_the_session_for_every_copy_of_its_cookie(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    for console, key in (("support", SUPPORT_KEY), ("ops", OPS_KEY)):
        cookie = sign_in(api.url, console, key)
        assert opens_console(api.url, cookie, console)
        jar = {f"orders_{console}": cookie}
        for forged in ({"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "cross-site"}):
            # A form on another site cannot sign anybody out (or in, or post anything).
            refused = httpx.post(f"{api.url}/{console}/logout", cookies=jar, headers=forged)
            assert refused.status_code == 403
        assert opens_console(api.url, cookie, console)
        out = httpx.post(f"{api.url}/{console}/logout", cookies={f"orders_{console}": cookie})
        assert out.status_code == 303
        assert not opens_console(api.url, cookie, console)  # a copy kept elsewhere is dead too
    assert all(revoked is not None for *_, revoked in session_rows(db))


def test_a_session_ends_its_lifetime_after_sign_in(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api(session_lifetime_seconds="2")
    login = httpx.post(f"{api.url}/support/login", json={"api_key": SUPPORT_KEY})
    assert "max-age=2;" in login.headers["set-cookie"].lower()
    cookie = login.cookies["orders_support"]
    assert opens_console(api.url, cookie)
    [(_, _, _, lifetime, _)] = session_rows(db)
    assert lifetime.total_seconds() == 2  # issue time + lifetime, fixed by the server
    time.sleep(2.5)
    assert not opens_console(api.url, cookie)


def test_removing_a_key_from_the_settings_ends_its_sessions(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    cookie = sign_in(api.url)
    assert opens_console(api.url, cookie)
    api.stop()
    keys = f"checkout:{CHECKOUT_KEY},support:sk_the_replacement_key,ops:{OPS_KEY}"
    api = start_api(api_keys=keys)
    assert not opens_console(api.url, cookie)
    [(_, _, _, _, revoked)] = session_rows(db)
    assert revoked is not None  # revoked for good: putting the key back does not revive it
    assert opens_console(api.url, sign_in(api.url, key="sk_the_replacement_key"))


def test_session_secrets_rotate_the_first_signs_and_every_one_verifies(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api(session_secrets=OLD_SECRET)
    before = sign_in(api.url)
    api.stop()

    api = start_api(session_secrets=f"{NEW_SECRET},{OLD_SECRET}")
    assert opens_console(api.url, before)  # nobody is signed out by the rotation
    after = sign_in(api.url)
    api.stop()

    api = start_api(session_secrets=NEW_SECRET)  # the old secret retired
    assert opens_console(api.url, after)
    assert not opens_console(api.url, before)
    api.stop()

    api = start_api(session_secrets=OLD_SECRET)
    assert not opens_console(api.url, after)  # it was signed with the new secret


def test_the_cookie_is_secure_only_when_a_trusted_proxy_says_https(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    def set_cookie(api: ApiServer, **headers: str) -> str:
        login = httpx.post(
            f"{api.url}/support/login", json={"api_key": SUPPORT_KEY}, headers=headers
        )
        assert login.status_code == 303
        value = login.headers["set-cookie"].lower()
        assert "httponly" in value and "samesite=strict" in value and "path=/support" in value
        return value

    https = {"X-Forwarded-Proto": "https"}
    untrusting = start_api()  # no proxy is trusted unless configured
    assert "secure" not in set_cookie(untrusting, **https)
    elsewhere = start_api(trusted_proxies="10.0.0.0/8")
    assert "secure" not in set_cookie(elsewhere, **https)
    behind_proxy = start_api(trusted_proxies="127.0.0.1,::1")
    assert "secure" in set_cookie(behind_proxy, **https)
    assert "secure" not in set_cookie(behind_proxy)
    assert "secure" not in set_cookie(behind_proxy, **{"X-Forwarded-Proto": "http"})


def test_production_refuses_to_serve_the_console_without_a_session_secret(
    database_url: str,
) -> None:
    settings = {"environment": "production", "api_keys": "support:sk_production_key_0123456789"}
    refused = subprocess.run(
        [sys.executable, "-m", "orders_cqrs.entrypoints.cli", "api"],
        cwd=ROOT,
        env={**os.environ, **worker_env(database_url, settings)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "ORDERS_SESSION_SECRETS is required in production" in refused.stderr


def test_cleanup_deletes_expired_sessions_and_keeps_live_ones(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    db.execute(
        "INSERT INTO console_sessions"
        " (id_sha256, principal_kind, principal_id, display_name, role, created_at, expires_at)"
        " SELECT md5(g::text) || md5(g::text), 'api_key', 'support:x', 'support:x', 'support',"
        "        now() - interval '9 hours', now() - interval '1 hour'"
        "   FROM generate_series(1, 2500) g"
    )
    live = sign_in_row(db)
    cleaned = run_cli(database_url, "cleanup")
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed 2500 expired console sessions" in cleaned.stdout
    assert db.execute("SELECT id_sha256 FROM console_sessions").fetchall() == [(live,)]


def sign_in_row(db: psycopg.Connection[Any]) -> str:
    """A live session row, as a sign-in leaves it."""
    digest = hashlib.sha256(b"a live session").hexdigest()
    db.execute(
        "INSERT INTO console_sessions"
        " (id_sha256, principal_kind, principal_id, display_name, role, expires_at)"
        " VALUES (%s, 'api_key', 'support:x', 'support:x', 'support', now() + interval '1 hour')",
        (digest,),
    )
    return digest
