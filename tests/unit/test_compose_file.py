"""docker-compose.yml keeps secrets out of the file and away from processes that do not need
them, and publishes only the API (``make compose-check`` runs ``docker compose config`` where
Docker is installed; this reads the file everywhere)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.helpers.stores import ROOT

STORES = ("postgres", "redis", "clickhouse", "opensearch")
WORKERS = (
    "migrate",
    "relay",
    "projector-summary",
    "projector-search",
    "projector-analytics",
    "reconciler",
)
API_ONLY = ("ORDERS_API_KEYS", "ORDERS_SESSION_SECRETS")
INTERPOLATED = re.compile(r"\$\{([A-Z_]+)(?::?[?-][^}]*)?\}")


def services() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"])


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (service.get("environment") or {}).items()}


def test_no_store_publishes_a_port_and_what_is_published_binds_loopback() -> None:
    published = {
        name: service["ports"] for name, service in services().items() if service.get("ports")
    }
    assert set(published) == {"api", "prometheus"}, published  # people's pages, never a store
    for name, ports in published.items():
        for port in ports:
            assert "127.0.0.1:" in str(port), f"{name} publishes {port} beyond this host"


def test_no_password_is_written_in_the_compose_file() -> None:
    for name, service in services().items():
        for key, value in environment(service).items():
            if "PASSWORD" in key or key in API_ONLY:
                assert INTERPOLATED.fullmatch(value), f"{name}: {key} is written in the file"
            if "://" in value and "@" in value:  # a URL with userinfo: the password from .env
                password = value.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
                assert INTERPOLATED.fullmatch(password), f"{name}: {key} holds a password"


def test_workers_get_no_api_keys_or_session_secrets() -> None:
    found = services()
    for name in (*WORKERS, *STORES):
        assert not set(API_ONLY) & set(environment(found[name])), name
    assert set(API_ONLY) <= set(environment(found["api"]))
    with_clickhouse = {n for n, s in found.items() if "CLICKHOUSE_PASSWORD" in str(s)}
    assert with_clickhouse == {"clickhouse", "api", "projector-analytics"}


def test_the_example_env_file_names_every_variable_the_compose_file_requires() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    required = {m.group(1) for m in INTERPOLATED.finditer(text) if ":?" in m.group(0)}
    example = (ROOT / ".env.example").read_text()
    defined = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line}
    defined = {name for name in defined if not name.startswith("#")}
    assert required <= defined, required - defined
    assert ".env" in (ROOT / ".gitignore").read_text().split()
