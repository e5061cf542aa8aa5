"""Store outages under running processes: a real store stopped and started again through
``scripts/services``, outage windows that are redone when someone else ends them early, and
the timed checkouts that show the write path does not notice."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType

import httpx
import redis

from tests.helpers.api import CHECKOUT_KEY, headers, order_body
from tests.helpers.stores import ROOT, TEST_REDIS_URL

SERVICES = ROOT / "scripts" / "services"


@dataclass(frozen=True)
class StoreOutage:
    """Stops one of the machine's stores on demand; leaving the ``with`` starts it again,
    whatever happened (every other suite on this machine needs it)."""

    store: str  # as ``scripts/services`` names it
    title: str  # as people write it
    answers: Callable[[], bool]
    timeout: float

    def services(self, action: str) -> None:
        """``scripts/services <action> <store>``, failing loudly."""
        done = subprocess.run(
            [str(SERVICES), action, self.store],
            capture_output=True,
            text=True,
            timeout=self.timeout,
        )
        assert done.returncode == 0, f"services {action} {self.store}: {done.stdout}{done.stderr}"

    def start(self) -> None:
        self.services("start")

    def windows(self, attempts: int) -> Iterator[int]:
        """Outage windows: the store is stopped, the caller's loop body runs, and the window
        ends there if the store is still down; otherwise it is redone.

        Any pytest session that starts while a store is down runs ``scripts/services start``
        (see the ``database_url`` fixture), so on a shared machine someone may end our outage
        early. A window during which the store answered again proves nothing.
        """
        for attempt in range(attempts):
            self.services("stop")
            yield attempt
            if not self.answers():
                return
            print(
                f"\n{self.title} was restarted by someone else during the outage window: redoing it"
            )
        raise AssertionError(f"{self.title} never stayed down for a whole outage window")

    def __enter__(self) -> StoreOutage:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.start()


def redis_answers() -> bool:
    """Whether the real Redis answers a PING right now."""
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def place_timed(client: httpx.Client, sku: str) -> tuple[httpx.Response, float]:
    """POST /v1/orders (one unit, fresh customer, email and key) and its wall-clock latency."""
    body = order_body(items=[(sku, 1)], email=f"outage.{uuid.uuid4().hex[:8]}@example.com")
    started = time.perf_counter()
    response = client.post(
        "/v1/orders", json=body, headers=headers(CHECKOUT_KEY, str(uuid.uuid4())), timeout=30
    )
    return response, time.perf_counter() - started


def place_many(client: httpx.Client, sku: str, count: int) -> tuple[list[str], list[float]]:
    """``count`` sequential checkouts; every one must be a 201. Their ids and latencies."""
    order_ids: list[str] = []
    latencies: list[float] = []
    for _ in range(count):
        response, seconds = place_timed(client, sku)
        assert response.status_code == 201, response.text
        order_ids.append(response.json()["order_id"])
        latencies.append(seconds)
    return order_ids, latencies
