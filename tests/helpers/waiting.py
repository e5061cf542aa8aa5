"""Polling against a deadline: nothing in the suites sleeps a fixed time to let things settle."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from tests.helpers.api import CHECKOUT_KEY, headers


def wait_for(predicate: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Poll ``predicate`` until it holds or the deadline passes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def wait_until(
    condition: Callable[[], bool], seconds: float, what: str, poll: float = 0.1
) -> float:
    """Poll ``condition`` until true; the seconds it took. Fails naming ``what``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{what}: not reached within {seconds:.0f} s")
        time.sleep(poll)
    return time.monotonic() - started


def wait_until_projected(base_url: str, order_id: str, version: int, seconds: float = 15) -> None:
    """Poll until the summary holds ``version`` of the order."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = httpx.get(f"{base_url}/v1/orders/{order_id}", headers=headers(CHECKOUT_KEY))
        if got.status_code == 200 and got.json()["freshness"]["source_version"] >= version:
            return
        time.sleep(0.05)
    raise AssertionError(f"{order_id} never reached version {version}")
