"""The alert rules against a real Prometheus scraping real processes.

A Prometheus of the test's own (Debian's binary, 1 s scrape and rule intervals, the
repository's rule files) discovers the API, the relay and the summary projector through the
files they write into ``ORDERS_PROMETHEUS_SD_DIR``. Under checkout traffic the summary
projector is killed with ``kill -9``: the projector-down and stalled alerts fire (the lag is
measured by the relay, so the series behind them never go missing); a projector restarted on
the same port resolves both, and the lag Prometheus sees returns to 0.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.chaos.test_stream_lag_survives_projector import Checkouts, wait_for
from tests.helpers.api import put_product
from tests.helpers.metrics import wait_for_metrics
from tests.helpers.processes import ApiServer, Worker, free_port
from tests.helpers.stores import ROOT

SKU = "SKU-STREAM-LAG"
RULES = ROOT / "deploy" / "prometheus" / "rules"


class Prometheus:
    """A real Prometheus with its own state, discovering targets from ``targets``."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.targets = workdir / "targets"
        self.targets.mkdir()
        config = workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: ['{RULES}/*.yml']\n"
            "scrape_configs:\n"
            "  - job_name: orders\n"
            f"    file_sd_configs: [{{files: ['{self.targets}/*.json'], refresh_interval: 1s}}]\n"
        )
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus is missing: `scripts/services install prometheus` installs it")
        self.log = (workdir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, bool, "prometheus ready", seconds=60)

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str, **params: str) -> Any:
        got = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        assert got.status_code == 200, got.text
        return got.json()["data"]

    def targets_up(self) -> dict[str, int]:
        """Active targets' health by job: how many are up."""
        up: dict[str, int] = {}
        for target in self.api("targets")["activeTargets"]:
            job = target["labels"]["job"]
            up[job] = up.get(job, 0) + (target["health"] == "up")
        return up

    def firing(self, alert: str, **labels: str) -> bool:
        return any(
            a["labels"]["alertname"] == alert
            and a["state"] == "firing"
            and labels.items() <= a["labels"].items()
            for a in self.api("alerts")["alerts"]
        )

    def value(self, query: str) -> float | None:
        result = self.api("query", query=query)["result"]
        return float(result[0]["value"][1]) if result else None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def prometheus() -> Iterator[Prometheus]:
    with tempfile.TemporaryDirectory(prefix="orders-prometheus-") as workdir:
        server = Prometheus(Path(workdir))
        try:
            yield server
        finally:
            server.stop()


def test_killed_projector_fires_the_down_and_stalled_alerts_and_a_restart_resolves_them(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    prometheus: Prometheus,
) -> None:
    sd = {"prometheus_sd_dir": str(prometheus.targets)}
    api = start_api(**sd)
    relay_port, projector_port = free_port(), free_port()
    start_worker("relay", relay_metrics_port=str(relay_port), **sd)
    summary = {"projection_metrics_port": str(projector_port), **sd}
    projector = start_worker("project", "summary", **summary)
    wait_for_metrics(relay_port, seconds=90)
    wait_for_metrics(projector_port, seconds=90)
    # Every process registered itself and is scraped.
    wait_for(
        prometheus.targets_up,
        lambda up: up == {"orders-api": 1, "orders-relay": 1, "orders-projector": 1},
        "targets up",
    )
    put_product(api.url, SKU, on_hand=100_000)
    lag = 'orders_stream_group_lag_events{projection="summary"}'
    traffic = Checkouts(api.url)
    traffic.start()
    try:
        wait_for(
            lambda: prometheus.value(
                'orders_projection_freshness_seconds_count{projection="summary"}'
            ),
            lambda v: v is not None and v > 0,
            "freshness scraped",
        )
        assert not prometheus.firing("OrdersProjectionStalled", projection="summary")
        projector.kill9()
        # The projector-down alert (for: 1m) and the stalled alert (30 s, for: 1m) fire.
        wait_for(
            lambda: prometheus.firing("OrdersProjectorDown", projection="summary"),
            bool,
            "OrdersProjectorDown firing",
            seconds=150,
        )
        wait_for(
            lambda: prometheus.firing("OrdersProjectionStalled", projection="summary"),
            bool,
            "OrdersProjectionStalled firing",
            seconds=150,
        )
        assert (prometheus.value(lag) or 0) > 0
    finally:
        traffic.stop()

    # (search and analytics have no projector in this test: their alerts fire all along.)
    # Restarted on the same port (its target file is the same): both resolve, lag returns to 0.
    start_worker("project", "summary", **summary)
    wait_for(lambda: prometheus.value(lag), lambda v: v == 0, "lag back to 0", seconds=120)
    try:
        wait_for(
            lambda: (
                not prometheus.firing("OrdersProjectionStalled", projection="summary")
                and not prometheus.firing("OrdersProjectorDown", projection="summary")
            ),
            bool,
            "alerts resolved",
            seconds=60,
        )
    except AssertionError as error:
        active = [
            (a["labels"], a["state"], a["value"])
            for a in prometheus.api("alerts")["alerts"]
            if a["labels"].get("projection") == "summary"
        ]
        raise AssertionError(f"{error}; active for summary: {active}") from None
