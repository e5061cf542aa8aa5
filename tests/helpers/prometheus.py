"""A real Prometheus for the suites: Debian's binary with its own state, a 1 s scrape and rule
interval, the repository's rule files, and targets discovered from the files that processes
under test write into ``ORDERS_PROMETHEUS_SD_DIR`` (``observability/discovery.py``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.processes import free_port
from tests.helpers.stores import ROOT
from tests.helpers.waiting import wait_for

RULES = ROOT / "deploy" / "prometheus" / "rules"


class Prometheus:
    """A real Prometheus with its own state, discovering targets from ``targets``."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.targets = workdir / "targets"
        self.targets.mkdir(exist_ok=True)
        self.config = workdir / "prometheus.yml"
        self.config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: ['{RULES}/*.yml']\n"
            "scrape_configs:\n"
            "  - job_name: orders\n"
            f"    file_sd_configs: [{{files: ['{self.targets}/*.json'], refresh_interval: 1s}}]\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start (again, on the same port and state after ``stop``) and wait until ready."""
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus is missing: `scripts/services install prometheus` installs it")
        self.log = (self.workdir / "prometheus.log").open("ab")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, "prometheus ready", seconds=60)

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

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector (or scalar as one sample) ``expr`` evaluates to now."""
        got = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = got.json()
        if got.status_code != 200:
            raise AssertionError(f"{body.get('errorType')}: {body.get('error')}")
        data = body["data"]
        return data["result"] if data["resultType"] == "vector" else [{"value": data["result"]}]

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
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@contextmanager
def running_prometheus() -> Iterator[Prometheus]:
    """A Prometheus of the test's own, stopped and its state removed at the end."""
    with tempfile.TemporaryDirectory(prefix="orders-prometheus-") as workdir:
        server = Prometheus(Path(workdir))
        try:
            yield server
        finally:
            server.stop()
