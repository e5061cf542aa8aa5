"""The service's own processes, started the way production starts them, and their CPU time.

Every figure comes from real ``orders-cqrs api | relay | project`` processes: an in-process
shortcut would measure a different program. CPU time is read from ``/proc/<pid>/stat``
(utime + stime of the process and of its live children, i.e. uvicorn's workers), so a
checkout's CPU cost is the API's CPU seconds divided by the orders PostgreSQL committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces: split after its ")"
    return raw[raw.rindex(")") + 2 :].split()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and of its descendants that are alive now."""
    total = 0.0
    stack = [pid]
    while stack:
        current = stack.pop()
        fields = _stat_fields(current)
        if fields is None:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15)
        stack.extend(_children(current))
    return total


@dataclass
class Service:
    """One ``orders-cqrs …`` process with its log in a scratch file."""

    args: Sequence[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] = field(default_factory=lambda: tempfile.TemporaryFile())  # noqa: SIM115

    def start(self) -> Service:
        """Start it (no wait)."""
        self.process = subprocess.Popen(  # noqa: S603 - argv built here, no shell
            [sys.executable, "-m", "orders_cqrs.entrypoints.cli", *self.args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            start_new_session=True,  # its own process group: stop() reaches uvicorn's workers
        )
        return self

    @property
    def pid(self) -> int:
        """The process id (after ``start``)."""
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        """Still alive?"""
        return self.process is not None and self.process.poll() is None

    def tail(self) -> str:
        """The end of its log, for an error message."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to its process group (graceful: finish the batch), SIGKILL after ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_api(env: dict[str, str], url: str, workers: int) -> Service:
    """``orders-cqrs api --workers N``, returned once ``/readyz`` answers 200."""
    api = Service(["api", "--workers", str(workers)], env).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not api.running():
            raise RuntimeError(f"api exited:\n{api.tail()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return api
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    api.stop()
    raise RuntimeError(f"api did not become ready:\n{api.tail()}")


def wait_for(check: object, timeout: float, every: float = 0.05) -> float:
    """Call ``check()`` until it is truthy; the seconds it took (raises past ``timeout``)."""
    assert callable(check)
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not done after {timeout:.0f} s")
        time.sleep(every)
    return time.monotonic() - started
