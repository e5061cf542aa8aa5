"""Real processes under test: ``orders-cqrs api``, ``relay``, ``project <name>``, ``verify``.

Each one runs from the project root with the test stores in its environment; nothing here
fakes a store or a process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.helpers.stores import OPENSEARCH_URL, ROOT, TEST_REDIS_URL


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ApiServer:
    """A real ``orders-cqrs api`` process (uvicorn) on its own port."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # A file, not a pipe: a pipe nobody reads fills up and hangs a chatty server.
    log: Any = field(default_factory=lambda: tempfile.TemporaryFile())  # noqa: SIM115
    out: Any = None  # a file for its stdout (spans a console exporter prints), else discarded

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        env = {**os.environ, **self.env, "ORDERS_PORT": str(self.port)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orders_cqrs.entrypoints.cli", "api"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL if self.out is None else self.out,
            stderr=self.log,
        )
        # A busy machine starts processes slowly; how fast is not what the tests prove.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"api exited: {self.log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        # Nobody else holds this process (the fixtures only track servers that started):
        # left running, it would keep its database connections until the machine runs out.
        self.kill9()
        self.log.seek(0)
        raise RuntimeError(f"api did not become ready: {self.log.read().decode()[-2000:]}")

    def kill9(self) -> None:
        """SIGKILL: no shutdown hooks, no flush, like a crashed host."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def worker_env(database_url: str, settings: dict[str, str]) -> dict[str, str]:
    """Environment of a process under test: the test stores plus ``ORDERS_<KEY>`` settings."""
    env = {
        "ORDERS_DATABASE_URL": database_url,
        "ORDERS_REDIS_URL": TEST_REDIS_URL,
        "ORDERS_OPENSEARCH_URL": OPENSEARCH_URL,
        # Analytics (an in-process chDB engine per API) only where a test asks for it.
        "ORDERS_CLICKHOUSE_URL": "",
        "ORDERS_ENVIRONMENT": "test",
        # One API process unless a test asks for more: kill -9 must take the whole API down.
        "ORDERS_API_WORKERS": "1",
        "ORDERS_RELAY_METRICS_PORT": "0",
        "ORDERS_PROJECTION_METRICS_PORT": "0",
        "ORDERS_RECONCILER_METRICS_PORT": "0",
    }
    env.update({f"ORDERS_{k.upper()}": str(v) for k, v in settings.items()})
    return env


@dataclass
class Worker:
    """A real ``orders-cqrs relay`` or ``orders-cqrs project <name>`` process."""

    args: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orders_cqrs.entrypoints.cli", *self.args],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def kill9(self) -> None:
        """SIGKILL mid-whatever-it-was-doing."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM and wait: the graceful path."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def run_cli(
    database_url: str,
    *args: str,
    timeout: float = 120,
    input_text: str | None = None,
    **settings: str,
) -> subprocess.CompletedProcess[str]:
    """``orders-cqrs <args>`` against the test stores (plus ``ORDERS_<KEY>`` settings), with
    ``input_text`` on its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "orders_cqrs.entrypoints.cli", *args],
        cwd=ROOT,
        env={**os.environ, **worker_env(database_url, settings)},
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
    )


def run_verify(
    database_url: str,
    wait: float = 20,
    projections: tuple[str, ...] = ("summary",),
    settings: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``orders-cqrs verify`` against the test stores, for the given read models (and
    ``ORDERS_<KEY>`` settings, as the processes under test got them)."""
    chosen = [arg for name in projections for arg in ("--projection", name)]
    return run_cli(database_url, "verify", "--wait", str(wait), *chosen, **(settings or {}))


def reconcile_now(database_url: str) -> str:
    """One ``orders-cqrs reconcile`` pass over every pending attempt, however young; its output.

    ``--older-than 0``: the tests leave an attempt pending on purpose and must not wait for it
    to age. A failed pass fails the test (``check=True``).
    """
    done = subprocess.run(
        [sys.executable, "-m", "orders_cqrs.entrypoints.cli", "reconcile", "--older-than", "0"],
        env={**os.environ, "ORDERS_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout
