"""Reading back from Prometheus' HTTP API what it scraped: the ops page's lag over the last hour.

The service's processes keep only their current values; history lives in Prometheus. This is
read-only, small and optional: ``ORDERS_PROMETHEUS_URL`` empty means no client at all, and a
Prometheus that does not answer (or answers nonsense) becomes ``PrometheusUnavailable``, which
the page turns into a message. The HTTP client is built in ``bootstrap/clients.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx


class PrometheusUnavailable(Exception):
    """Prometheus did not answer the query, or not with data."""


@dataclass(frozen=True, slots=True)
class Series:
    """One time series of a range query: its labels and its (time, value) points."""

    labels: dict[str, str]
    points: list[tuple[datetime, float]]


class PrometheusApi:
    """Prometheus' query API over one HTTP client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def query_range(
        self, expr: str, start: datetime, end: datetime, step_seconds: int
    ) -> list[Series]:
        """``expr`` evaluated every ``step_seconds`` from ``start`` to ``end`` (a matrix)."""
        params = {
            "query": expr,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": str(step_seconds),
        }
        try:
            response = await self._client.get("/api/v1/query_range", params=params)
            body: Any = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise PrometheusUnavailable(type(error).__name__) from error
        if response.status_code != 200 or not isinstance(body, dict):
            raise PrometheusUnavailable(f"HTTP {response.status_code}")
        data = body.get("data") or {}
        if body.get("status") != "success" or data.get("resultType") != "matrix":
            raise PrometheusUnavailable(str(body.get("error", "not a matrix"))[:200])
        return [_series(item) for item in data["result"]]

    async def aclose(self) -> None:
        await self._client.aclose()


def _series(item: dict[str, Any]) -> Series:
    points = [
        (datetime.fromtimestamp(float(moment), UTC), float(value))
        for moment, value in item.get("values", [])
        if math.isfinite(float(value))  # NaN and ±Inf: nothing to draw
    ]
    return Series(labels=dict(item.get("metric", {})), points=points)
