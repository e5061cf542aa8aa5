"""A worker's HTTP port: Prometheus metrics, and ``/healthz`` from its loop's heartbeat.

prometheus-client's own server answers every path with the metrics, so the workers serve
this small WSGI app instead, on the same thread-per-request server: ``/healthz`` is 200
while the loop finished a round within ``stale_after`` seconds and a 503 problem otherwise
(a container healthcheck or a liveness probe restarts a stuck worker), anything else is the
metrics exposition.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from orders_cqrs.api.problems import PROBLEM_JSON, PROBLEMS, TYPE_PREFIX
from orders_cqrs.observability.heartbeat import HEARTBEAT, Heartbeat

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def health_app(metrics_app: WsgiApp, heartbeat: Heartbeat, stale_after: float) -> WsgiApp:
    """``/healthz`` from ``heartbeat``, every other path to ``metrics_app``."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/healthz":
            return metrics_app(environ, start_response)
        age = round(heartbeat.age(), 3)
        if age <= stale_after:
            body = {"status": "ok", "last_round_seconds_ago": age}
            status, media = "200 OK", "application/json"
        else:
            body = {
                "type": TYPE_PREFIX + "unavailable",
                "title": PROBLEMS["unavailable"][1],
                "status": 503,
                "detail": f"the worker's loop has not finished a round for {age} s"
                f" (more than {stale_after} s)",
                "last_round_seconds_ago": age,
            }
            status, media = "503 Service Unavailable", PROBLEM_JSON
        payload = json.dumps(body).encode()
        start_response(status, [("Content-Type", media), ("Content-Length", str(len(payload)))])
        return [payload]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress never holds the process at exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access line per scrape or probe."""


def serve_worker_http(host: str, port: int, *, stale_after: float) -> None:
    """Serve metrics and ``/healthz`` on ``host:port`` from a daemon thread."""
    app = health_app(make_wsgi_app(), HEARTBEAT, stale_after)
    server = make_server(host, port, app, _ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="worker-http", daemon=True).start()
