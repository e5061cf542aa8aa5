"""Registering this process with Prometheus through file-based service discovery.

With ``ORDERS_PROMETHEUS_SD_DIR`` set (``make dev`` sets it to the directory the local
Prometheus of ``scripts/services`` watches), a process that serves metrics writes one target
file there naming its address and its job, and removes it when it exits normally. A process
killed with ``kill -9`` leaves its file behind on purpose: Prometheus keeps scraping the dead
address, ``up`` turns 0, and the down alerts fire instead of the target silently vanishing.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
from pathlib import Path

JOBS = ("orders-api", "orders-relay", "orders-projector", "orders-reconciler", "orders-dev")


def register_target(sd_dir: str, job: str, host: str, port: int, **labels: str) -> Path | None:
    """Write the target file for ``host:port`` (nothing when ``sd_dir`` is empty or port 0)."""
    if not sd_dir or not port:
        return None
    if job not in JOBS:  # the alert rules know these jobs and no others
        raise ValueError(f"unknown job {job!r}; known: {', '.join(JOBS)}")
    # A process listening on every interface is scraped on loopback.
    address = f"{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}"  # noqa: S104
    directory = Path(sd_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{job}-{address.replace(':', '-')}.json"
    # Prometheus may read the directory at any moment: write aside, then rename (atomic).
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps([{"targets": [address], "labels": {"job": job, **labels}}]))
    partial.rename(path)
    atexit.register(_unregister, path)
    return path


def _unregister(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
