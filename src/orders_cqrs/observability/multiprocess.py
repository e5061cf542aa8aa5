"""Prometheus metrics across several API worker processes.

Each worker of ``orders-cqrs api --workers N`` has its own counters. prometheus-client's
multiprocess mode makes each of them write its values to files in one directory, and
``/metrics``, whichever worker answers it, reads the whole directory: ops see the service,
not the one worker that happened to answer the scrape.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, multiprocess

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir() -> Path:
    """An empty directory for this run's metric files, named in the environment.

    Must run before ``prometheus_client`` creates any metric in the workers, hence before
    they start. Files of an earlier run would be added to this one's, so it starts empty.
    """
    configured = os.environ.get(ENV)
    path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="orders-metrics-"))
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[ENV] = str(path)
    return path


def exposition() -> bytes:
    """The text exposition of every worker (multiprocess mode) or of this process."""
    if os.environ.get(ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
