"""``orders-cqrs reconcile --loop`` serves its own metrics, so Prometheus can see it run.

The reconciler-backlog and reconciler-down alerts read them: the attempts still pending past
the threshold at the last pass, and when that pass finished.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from tests.helpers.metrics import metric, wait_for_metrics
from tests.helpers.processes import Worker, free_port


def test_reconcile_loop_exports_its_passes_and_registers_with_prometheus(
    db: psycopg.Connection[Any], start_worker: Callable[..., Worker], tmp_path: Path
) -> None:
    port = free_port()
    start_worker(
        "reconcile",
        "--loop",
        "--interval",
        "0.2",
        reconciler_metrics_port=str(port),
        prometheus_sd_dir=str(tmp_path),
    )
    wait_for_metrics(port, seconds=90)
    deadline = time.monotonic() + 30
    while metric(port, "orders_reconciler_last_pass_timestamp_seconds") in (None, 0.0):
        assert time.monotonic() < deadline, "no reconcile pass exported"
        time.sleep(0.2)
    last_pass = metric(port, "orders_reconciler_last_pass_timestamp_seconds")
    assert last_pass is not None and time.time() - last_pass < 10
    assert metric(port, "orders_reconciler_stale_attempts") == 0  # nothing pending
    (target,) = tmp_path.glob("*.json")
    assert json.loads(target.read_text())[0]["labels"] == {"job": "orders-reconciler"}
