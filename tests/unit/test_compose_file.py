"""docker-compose.yml keeps secrets out of the file and away from processes that do not need
them, publishes only the API and the ops tools (on loopback), mounts each ops tool's config
from the repository, and health-checks every long-running process (``make compose-check``
runs ``docker compose config`` where Docker is installed; this reads the file everywhere)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
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
# Each long-running worker and the setting naming the port its /healthz answers on.
METRICS_PORT_SETTING = {
    "relay": "ORDERS_RELAY_METRICS_PORT",
    "projector-summary": "ORDERS_PROJECTION_METRICS_PORT",
    "projector-search": "ORDERS_PROJECTION_METRICS_PORT",
    "projector-analytics": "ORDERS_PROJECTION_METRICS_PORT",
    "reconciler": "ORDERS_RECONCILER_METRICS_PORT",
}
# The ops tools and where in the container each reads its configuration from the repository.
OPS_CONFIG = {
    "prometheus": {"/etc/prometheus": "./deploy/prometheus"},
    "alertmanager": {"/etc/alertmanager": "./deploy/alertmanager"},
    "grafana": {
        "/etc/grafana/provisioning": "./deploy/grafana/provisioning",
        "/etc/grafana/dashboards": "./deploy/grafana/dashboards",
    },
}
INTERPOLATED = re.compile(r"\$\{([A-Z_]+)(?::?[?-][^}]*)?\}")


def services() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"])


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (service.get("environment") or {}).items()}


def test_no_store_publishes_a_port_and_what_is_published_binds_loopback() -> None:
    published = {
        name: service["ports"] for name, service in services().items() if service.get("ports")
    }
    # People's pages and the ops tools, never a store.
    assert set(published) == {"api", "prometheus", "alertmanager", "grafana"}, published
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


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → repository path of a service's read-only bind mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *mode = str(volume).split(":")
        if source.startswith("./"):
            assert mode == ["ro"], f"{volume}: the repository is mounted read-only"
            mounts[target] = source
    return mounts


def test_each_ops_tool_reads_its_config_from_the_repository() -> None:
    found = services()
    for name, expected in OPS_CONFIG.items():
        assert bind_mounts(found[name]) == expected, name
        for source in expected.values():
            assert (ROOT / source).is_dir(), f"{name}: {source} is missing"
    assert "--config.file=/etc/prometheus/prometheus.compose.yml" in found["prometheus"]["command"]
    assert "/etc/alertmanager/alertmanager.yml" in found["alertmanager"]["command"][0]
    assert (ROOT / "deploy/alertmanager/alertmanager.yml").is_file()


def test_grafana_is_provisioned_with_the_datasource_and_the_dashboards() -> None:
    provisioning = ROOT / "deploy" / "grafana" / "provisioning"
    assert list((provisioning / "datasources").glob("*.yml"))
    assert list((provisioning / "dashboards").glob("*.yml"))
    assert list((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
    grafana = environment(services()["grafana"])
    assert INTERPOLATED.fullmatch(grafana["GF_SECURITY_ADMIN_PASSWORD"])
    home = Path(grafana["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert (ROOT / "deploy/grafana/dashboards" / home.name).is_file()


def test_the_api_reads_lag_history_from_the_prometheus_service() -> None:
    assert environment(services()["api"])["ORDERS_PROMETHEUS_URL"] == "http://prometheus:9090"


def test_prometheus_sends_its_alerts_to_the_alertmanager_service() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.compose.yml").read_text())
    targets = [
        target
        for manager in config["alerting"]["alertmanagers"]
        for static in manager["static_configs"]
        for target in static["targets"]
    ]
    assert targets == ["alertmanager:9093"]
    assert "alertmanager" in services()


def test_alertmanager_config_routes_every_alert_to_a_receiver_amtool_accepts() -> None:
    path = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
    config = yaml.safe_load(path.read_text())
    receivers = {receiver["name"] for receiver in config["receivers"]}
    assert config["route"]["receiver"] in receivers
    assert all(r["receiver"] in receivers for r in config["route"].get("routes", []))
    amtool = shutil.which("amtool")  # scripts/services installs Debian's prometheus-alertmanager
    assert amtool is not None, "amtool is missing: run scripts/services install prometheus"
    checked = subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_long_running_worker_is_health_checked_on_its_own_metrics_port() -> None:
    found = services()
    for name, setting in METRICS_PORT_SETTING.items():
        port = environment(found[name])[setting]
        test = found[name].get("healthcheck", {}).get("test", [])
        assert test[:3] == ["CMD", "python", "-c"], name
        assert f"http://127.0.0.1:{port}/healthz" in test[3], name
    long_running = {
        name
        for name, service in found.items()
        if service.get("command", [""])[0] == "orders-cqrs" and service["command"][1] != "migrate"
    }
    assert long_running - {"api"} == set(METRICS_PORT_SETTING)
    unchecked = {name for name, service in found.items() if name != "migrate"} - {
        name for name, service in found.items() if service.get("healthcheck")
    }
    assert unchecked == set(), "services without a healthcheck"
