"""A worker's /healthz answers from its loop's heartbeat, and its log and drain settings
default by environment."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from orders_cqrs.config import Settings
from orders_cqrs.observability.heartbeat import Heartbeat
from orders_cqrs.observability.worker_http import health_app


def _get(heartbeat: Heartbeat, path: str, stale_after: float = 3.0) -> tuple[str, bytes]:
    answered: dict[str, Any] = {}

    def metrics_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"orders_build_info 1\n"]

    def start_response(status: str, _headers: list[tuple[str, str]]) -> None:
        answered["status"] = status

    body = b"".join(
        health_app(metrics_app, heartbeat, stale_after)({"PATH_INFO": path}, start_response)
    )
    return answered["status"], body


def test_healthz_is_ok_while_the_loop_beats_and_a_problem_once_it_stops() -> None:
    heartbeat = Heartbeat()
    status, body = _get(heartbeat, "/healthz")
    assert status.startswith("200") and json.loads(body)["status"] == "ok"

    heartbeat._last -= 10  # the loop last finished a round 10 s ago
    status, body = _get(heartbeat, "/healthz")
    assert status.startswith("503")
    problem = json.loads(body)
    assert problem["type"].endswith("/unavailable") and problem["status"] == 503

    heartbeat.beat()
    assert _get(heartbeat, "/healthz")[0].startswith("200")


def test_every_other_path_is_the_metrics() -> None:
    assert _get(Heartbeat(), "/metrics")[1].startswith(b"orders_build_info")


def test_logs_are_json_in_production_unless_told_otherwise() -> None:
    assert Settings(environment="production", api_keys="checkout:k").logs_json
    assert not Settings(environment="local").logs_json
    assert Settings(environment="local", log_format="json").logs_json
    assert not Settings(environment="production", log_format="console").logs_json
    assert Settings(log_level="debug").log_level == "DEBUG"


def test_only_production_drains_by_default_and_workers_get_a_floor() -> None:
    assert Settings(environment="production").drain_seconds == 5.0
    assert Settings().drain_seconds == 0.0
    assert Settings(shutdown_drain_seconds=2).drain_seconds == 2.0
    assert Settings().stale_after_seconds(1.0) == 10.0
    assert Settings().stale_after_seconds(30.0) == 90.0
    assert Settings(worker_stale_after_seconds=3).stale_after_seconds(30.0) == 3.0
