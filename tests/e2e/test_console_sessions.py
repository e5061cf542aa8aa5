"""Console sessions over HTTP against a real API and PostgreSQL: what opens a console, and what
ends a session (sign-out, expiry, a key's session from before staff accounts, a retired
secret)."""

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

from orders_cqrs.config import DEV_SESSION_SECRET, hash_api_key
from orders_cqrs.web.session import SUPPORT, CookieSigner
from tests.helpers.api import OPS_KEY, SUPPORT_KEY
from tests.helpers.processes import ApiServer, run_cli, worker_env
from tests.helpers.staff import GRACE, OLU, add_staff, sign_in_response
from tests.helpers.staff import sign_in as staff_sign_in
from tests.helpers.stores import ROOT

OLD_SECRET = "old-console-secret-0123456789abcdef"
NEW_SECRET = "new-console-secret-fedcba9876543210"


EMAILS = {"support": GRACE[1], "ops": OLU[1]}


def people(database_url: str) -> None:
    """A support and an ops account."""
    for name, email, role in (GRACE, OLU):
        add_staff(database_url, name, email, role)


def sign_in(base_url: str, console: str = "support") -> str:
    """Sign in to ``console`` as its person; the session cookie's value."""
    return staff_sign_in(base_url, console, EMAILS[console])


def opens_console(base_url: str, cookie: str, console: str = "support") -> bool:
    """Does this cookie open the console's home page (rather than send us to sign in)?"""
    page = httpx.get(f"{base_url}/{console}", cookies={f"orders_{console}": cookie})
    assert page.status_code in (200, 303), page.text
    return page.status_code == 200


def session_rows(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT principal_kind, staff_account_id, role, expires_at - created_at, revoked_at"
        " FROM console_sessions ORDER BY created_at"
    ).fetchall()


def test_a_cookie_minted_from_a_key_digest_opens_no_console(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    people(database_url)
    api = start_api()
    for console, key in (("support", SUPPORT_KEY), ("ops", OPS_KEY)):
        # Everything the old scheme needed: the digest that the README says is safe to store.
        digest = hash_api_key(key)
        payload = f"{console}:{digest[:12]}|{int(time.time()) + 3600}"
        message = f"orders-cqrs {console} session\n{payload}".encode()
        mac = hmac.new(digest.encode(), message, hashlib.sha256).hexdigest()
        assert not opens_console(api.url, f"{payload}|{mac}", console)
        assert opens_console(api.url, sign_in(api.url, console), console)
    assert [(kind, role) for kind, _, role, _, _ in session_rows(db)] == [
        ("staff", "support"),
        ("staff", "ops"),
    ]


def test_signing_out_revokes_the_session_for_every_copy_of_its_cookie(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    people(database_url)
    api = start_api()
    for console in ("support", "ops"):
        cookie = sign_in(api.url, console)
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
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    people(database_url)
    api = start_api(session_lifetime_seconds="2")
    login = sign_in_response(api.url, "support", GRACE[1])
    assert "max-age=2;" in login.headers["set-cookie"].lower()
    cookie = login.cookies["orders_support"]
    assert opens_console(api.url, cookie)
    [(_, _, _, lifetime, _)] = session_rows(db)
    assert lifetime.total_seconds() == 2  # issue time + lifetime, fixed by the server
    time.sleep(2.5)
    assert not opens_console(api.url, cookie)


def test_people_sign_in_as_staff_and_a_keys_session_from_before_opens_nothing(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    for console, key in (("support", SUPPORT_KEY), ("ops", OPS_KEY)):
        refused = httpx.post(f"{api.url}/{console}/login", json={"api_key": key})
        assert refused.status_code == 422 and "API keys are for machines" in refused.text
        assert "set-cookie" not in refused.headers
    # A session that a support key opened before staff accounts existed, validly signed.
    raw_id = "a-session-opened-with-a-key-before-staff-accounts"
    db.execute(
        "INSERT INTO console_sessions"
        " (id_sha256, principal_kind, principal_id, display_name, role, expires_at)"
        " VALUES (%s, 'api_key', 'support:0123456789ab', 'support:0123456789ab', 'support',"
        "         now() + interval '1 hour')",
        (hashlib.sha256(raw_id.encode()).hexdigest(),),
    )
    cookie = CookieSigner((DEV_SESSION_SECRET,)).sign(SUPPORT, raw_id)
    assert not opens_console(api.url, cookie)
    [(kind, _, _, _, revoked)] = session_rows(db)
    assert kind == "api_key" and revoked is not None  # revoked for good on its first use


def test_session_secrets_rotate_the_first_signs_and_every_one_verifies(
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    people(database_url)
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
    db: psycopg.Connection[Any], database_url: str, start_api: Callable[..., ApiServer]
) -> None:
    people(database_url)

    def set_cookie(api: ApiServer, **headers: str) -> str:
        login = sign_in_response(api.url, "support", GRACE[1], **headers)
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


def test_cleanup_deletes_expired_sessions_and_ended_throttle_windows_and_keeps_live_ones(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    db.execute(
        "INSERT INTO login_throttle (bucket, attempts, window_started_at)"
        " SELECT 'address:10.0.' || g, 6, now() - interval '16 minutes'"
        "   FROM generate_series(1, 1500) g"
        " UNION ALL SELECT 'address:10.1.0.1', 3, now() - interval '1 minute'"
    )
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
    assert "removed 1500 ended sign-in throttle windows" in cleaned.stdout
    assert db.execute("SELECT bucket FROM login_throttle").fetchall() == [("address:10.1.0.1",)]


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
