"""Which secrets production insists on, and which processes need them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orders_cqrs.config import DEV_SESSION_SECRET, Settings

STRONG = "a-production-session-secret-0123456789"


@pytest.fixture(autouse=True)
def _no_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ORDERS_API_KEYS", "ORDERS_SESSION_SECRETS", "ORDERS_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)


def test_a_production_worker_needs_no_api_keys_and_no_session_secret() -> None:
    worker = Settings(environment="production")
    assert worker.api_clients == ()
    with pytest.raises(ValueError, match="ORDERS_API_KEYS is required in production"):
        worker.require_serving()


def test_a_production_api_needs_a_session_secret() -> None:
    api = Settings(environment="production", api_keys="support:sk_production_only_key")
    with pytest.raises(ValueError, match="ORDERS_SESSION_SECRETS is required in production"):
        api.require_serving()
    Settings(
        environment="production", api_keys="support:sk_production_only_key", session_secrets=STRONG
    ).require_serving()


@pytest.mark.parametrize("secrets", ["short", DEV_SESSION_SECRET, f"{STRONG},short"])
def test_production_refuses_weak_or_development_session_secrets(secrets: str) -> None:
    with pytest.raises(ValidationError, match="ORDERS_SESSION_SECRETS"):
        Settings(environment="production", session_secrets=secrets)


def test_outside_production_a_development_secret_signs() -> None:
    assert Settings(environment="test").session_keys == (DEV_SESSION_SECRET,)
    rotated = Settings(environment="test", session_secrets=f"{STRONG}, older-secret")
    assert rotated.session_keys == (STRONG, "older-secret")


def test_trusted_proxies_are_ips_or_networks() -> None:
    assert [str(n) for n in Settings(trusted_proxies="10.0.0.0/8, ::1").proxy_networks] == [
        "10.0.0.0/8",
        "::1/128",
    ]
    with pytest.raises(ValidationError, match="ORDERS_TRUSTED_PROXIES"):
        Settings(trusted_proxies="proxy.example")


def test_a_refused_setting_is_not_echoed_in_the_startup_error() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(clickhouse_url="ftp://o:a-store-password@ch")
    assert "ORDERS_CLICKHOUSE_URL" in str(refused.value)
    assert "a-store-password" not in str(refused.value)
