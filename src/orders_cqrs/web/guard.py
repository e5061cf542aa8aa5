"""What every console page shares: the signed-in agent, and failures shown as pages, not JSON.

The app's problem handlers answer in ``application/problem+json``, which is right for the API
and wrong for a person. ``PageRoute`` catches failures of console routes first and renders them
as HTML: no cookie → the sign-in page, a malformed id → 404, a store outage → 503.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, cast
from urllib.parse import urlencode, urlsplit

import structlog
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import ConnectionTimeout as SearchTimeout
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from orders_cqrs.api.auth import Principal
from orders_cqrs.api.envelope import Envelope, trace_context
from orders_cqrs.bootstrap import Container
from orders_cqrs.failures.stores import StoreError
from orders_cqrs.observability import tracing
from orders_cqrs.observability.request_context import current_traceparent
from orders_cqrs.web.forms import FormError
from orders_cqrs.web.render import error_page, secured
from orders_cqrs.web.session import SUPPORT, acting_principal
from orders_cqrs.write.context import CommandContext

log = structlog.get_logger(__name__)
UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    SearchConnectionError,
    SearchTimeout,
    StoreError,
)


class LoginRequired(Exception):
    """The request has no valid console session."""


class CrossSiteForm(Exception):
    """A form post that came from another site."""


def container_of(request: Request) -> Container:
    """The process's container."""
    return cast(Container, request.app.state.container)


async def current_agent(request: Request) -> Principal:
    """The signed-in support agent; ``LoginRequired`` otherwise."""
    session = await container_of(request).console_sessions.signed_in(request, SUPPORT)
    if session is None:
        raise LoginRequired
    if request.method == "POST":
        same_site_form(request)
    return acting_principal(session)


Agent = Annotated[Principal, Depends(current_agent)]


def agent_context(
    request: Request,
    agent: Principal,
    command: str,
    body: BaseModel | None,
    idempotency_key: str,
    *,
    if_match: int | None = None,
) -> CommandContext:
    """The context of a command a signed-in person sends from a console page: the same
    envelope as the API's (fingerprint of method, path and body; trace context), acting as
    ``staff:<id>`` with their name and email, which the audit row and the events keep."""
    traceparent = (
        tracing.current_traceparent()
        or current_traceparent()
        or trace_context(request.headers.get("traceparent"))
    )
    envelope = Envelope(request.method, request.url.path, idempotency_key, if_match, traceparent)
    return envelope.context(command, agent, body)


def same_site_form(request: Request) -> None:
    """Refuse posts whose ``Origin`` names another host, or that the browser itself calls
    cross-site (``Sec-Fetch-Site``); the SameSite=Strict cookie is the first wall."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise CrossSiteForm
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CrossSiteForm


def login_redirect(request: Request) -> Response:
    """To the sign-in page, coming back here (or to the order page after a post) afterwards."""
    back = request.url.path.removesuffix("/notes")
    if request.method == "GET" and request.url.query:
        back = f"{back}?{request.url.query}"
    return RedirectResponse(f"/support/login?{urlencode({'next': back})}", status_code=303)


async def _render_failure(request: Request, error: Exception) -> Response:
    if isinstance(error, LoginRequired):
        return login_redirect(request)
    if isinstance(error, CrossSiteForm):
        return error_page(request, 403, "Refused", "That form was sent from another site.")
    if isinstance(error, RequestValidationError):
        return error_page(request, 404, "Not found", "There is no page at this address.")
    if isinstance(error, FormError):
        return error_page(request, 400, "Bad request", str(error))
    if isinstance(error, UNAVAILABLE):
        page = error_page(
            request, 503, "Temporarily unavailable", "A store the console reads is not answering."
        )
        page.headers["Retry-After"] = "2"
        return page
    log.exception("console_page_failed", path=request.url.path)
    return error_page(request, 500, "Something went wrong", "The error was logged.")


class PageRoute(APIRoute):
    """A console route: its failures become HTML pages, and every answer gets our headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler (dependencies and validation run inside it)."""
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as error:
                response = await _render_failure(request, error)
            return secured(response)

        return page_handler
