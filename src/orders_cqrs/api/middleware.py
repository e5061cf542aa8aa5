"""ASGI middleware: a hard cap on body size, and request counting and timing by route template."""

from __future__ import annotations

import json
import time

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orders_cqrs.api.problems import PROBLEM_JSON, TYPE_PREFIX
from orders_cqrs.observability import metrics


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


def _is_page_form(scope: Scope, content_type: bytes) -> bool:
    # The browser pages post plain HTML forms; the JSON API does not accept them.
    media = content_type.split(b";", 1)[0].strip().lower()
    path = str(scope.get("path", ""))
    return media == b"application/x-www-form-urlencoded" and path.startswith(("/support", "/ops"))


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the body passes the cap; FastAPI passes it through as 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"bodies are limited to {max_bytes} bytes")


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` (413) or not JSON (415) before anyone parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send, 413, "payload-too-large", "The request body is too large")
            return
        has_body = (declared is not None and declared != b"0") or b"transfer-encoding" in headers
        content_type = headers.get(b"content-type", b"")
        if has_body and not (_is_json(content_type) or _is_page_form(scope, content_type)):
            await self._refuse(send, 415, "unsupported-media-type", "Send application/json")
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, 413, "payload-too-large", "The request body is too large")

    async def _refuse(self, send: Send, status: int, kind: str, title: str) -> None:
        detail = (
            f"bodies are limited to {self.max_bytes} bytes"
            if status == 413
            else "request bodies must be application/json"
        )
        body = json.dumps(
            {"type": TYPE_PREFIX + kind, "title": title, "status": status, "detail": detail}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# Methods outside this set are counted as "other": a client inventing methods must not be
# able to invent series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/orders/{order_id}``), or ``unmatched``."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


def method_label(scope: Scope) -> str:
    """The request's method when it is a known one, else ``other``."""
    method = str(scope["method"])
    return method if method in KNOWN_METHODS else "other"


class RequestMetrics:
    """Count and time requests by route template (never by raw path: ids would explode
    cardinality), method and status class."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            labels = (route_template(scope), method_label(scope), f"{status // 100}xx")
            metrics.HTTP_REQUESTS.labels(*labels).inc()
            metrics.HTTP_REQUEST_SECONDS.labels(*labels).observe(time.perf_counter() - started)
