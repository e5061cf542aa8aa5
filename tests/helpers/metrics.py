"""The workers' Prometheus ``/metrics`` as the suites read them: scraped, summed, waited for."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

Labels = dict[str, str]


def scrape(port: int) -> list[tuple[str, Labels, float]]:
    """Every sample of a worker's /metrics as (name, labels, value)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def metric(port: int, name: str, **labels: str) -> float | None:
    """Sum of the samples called ``name`` whose labels include ``labels`` (None: no sample, or
    the worker does not answer, as while it is down)."""
    try:
        samples = scrape(port)
    except httpx.HTTPError:
        return None
    values = [
        value
        for sample_name, sample_labels, value in samples
        if sample_name == name and labels.items() <= sample_labels.items()
    ]
    return sum(values) if values else None


def wait_for_metrics(port: int, seconds: float = 20) -> None:
    """Poll until the worker's metrics endpoint answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"no /metrics on port {port}")
