"""The support console: sign in, search, the one-page order view, and notes.

Pages call the same read functions and run the same commands as the API, in-process.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from opensearchpy.exceptions import NotFoundError, TransportError
from redis.exceptions import RedisError

from orders_cqrs.api.auth import Principal
from orders_cqrs.api.schemas import NoteIn
from orders_cqrs.domain import commands
from orders_cqrs.domain.errors import DomainError, OrderNotFound
from orders_cqrs.domain.values import OrderStatus, PaymentState
from orders_cqrs.readmodels.freshness import NotYetProjected
from orders_cqrs.readmodels.search.reader import BadCursor
from orders_cqrs.readmodels.summary.reader import SummaryRead
from orders_cqrs.web.forms import (
    NOTE_MAX_CHARS,
    SORT_LABELS,
    FormError,
    SearchForm,
    form_fields,
    idempotency_key,
    min_version,
    note_body,
    safe_next,
)
from orders_cqrs.web.guard import Agent, PageRoute, agent_context, container_of, same_site_form
from orders_cqrs.web.render import error_page, page, search_row
from orders_cqrs.web.search_freshness import row_freshness
from orders_cqrs.web.session import SUPPORT
from orders_cqrs.web.signin import sign_in
from orders_cqrs.write.errors import IdempotencyMismatch, RequestInFlight

router = APIRouter(prefix="/support", include_in_schema=False, route_class=PageRoute)
RISK_FLAGS = ("large_amount", "country_mismatch", "high_velocity")


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The sign-in form (or, when already signed in, the console)."""
    if await container_of(request).console_sessions.signed_in(request, SUPPORT):
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return page(request, "login.html", {"next": safe_next(request.query_params.get("next"))})


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the email and password: a support account gets a session cookie."""
    same_site_form(request)
    fields = await form_fields(request)
    target = safe_next(fields.get("next"))
    context = {"next": target}
    return await sign_in(
        request, SUPPORT, fields, template="login.html", target=target, context=context
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session: revoked on the server, forgotten by the browser."""
    same_site_form(request)
    response = RedirectResponse("/support/login", status_code=303)
    await container_of(request).console_sessions.end(request, response, SUPPORT)
    return response


@router.get("")
async def search_page(request: Request, agent: Agent) -> Response:
    """Search box, filters and sort, results with highlights and a freshness dot each, the
    next- and previous-page cursors, index freshness."""
    container = container_of(request)
    form = SearchForm.from_query(request.query_params)
    context: dict[str, Any] = {"agent": agent, "form": form, "result": None, "error": None}
    context.update(
        statuses=[s.value for s in OrderStatus],
        payment_states=[s.value for s in PaymentState],
        providers=sorted(container.gateways),
        risks=RISK_FLAGS,
        sorts=SORT_LABELS,
    )
    status_code = 200
    try:
        result = await container.support_search.orders(form.request())
        dots = await row_freshness(container.lookups, result["hits"])
        rows = [{**search_row(hit), "fresh": dots[hit["order_id"]]} for hit in result["hits"]]
        context["result"] = {**result, "hits": rows}
    except (FormError, BadCursor) as error:
        context["error"], status_code = str(error), 400
    except NotFoundError:
        context["error"] = "The support index is not built yet: no order has been projected."
    except TransportError:
        context["error"], status_code = "Search is unavailable right now. Try again shortly.", 503
    context["freshness"] = await _index_freshness(request)
    return page(request, "search.html", context, status_code=status_code)


async def _index_freshness(request: Request) -> dict[str, Any] | None:
    try:
        return await container_of(request).admin.status("search")
    except RedisError:
        return None


@router.get("/orders/{order_id}")
async def order_page(request: Request, order_id: UUID, agent: Agent) -> Response:
    """The one-page order view; ``min_version`` waits, then says it is catching up."""
    wanted = min_version(request.query_params)
    try:
        read = await container_of(request).summary.order_at_least(str(order_id), wanted)
    except NotYetProjected as behind:
        context = {"agent": agent, "order_id": str(order_id), "wanted": behind.wanted}
        context["have"] = behind.have
        return page(
            request, "catching_up.html", context, status_code=503, headers={"Retry-After": "1"}
        )
    if read is None:
        return _no_such_order(request, order_id, agent)
    return await _order_view(request, agent, read)


@router.get("/orders/{order_id}/notes")
async def notes_address(order_id: UUID, agent: Agent) -> Response:
    """Notes live on the order page."""
    return RedirectResponse(f"/support/orders/{order_id}", status_code=303)


@router.post("/orders/{order_id}/notes")
async def add_note(request: Request, order_id: UUID, agent: Agent) -> Response:
    """Run AddSupportNote as the API does, then show the order once it holds the note."""
    fields = await form_fields(request)
    try:
        text = note_body(fields.get("body"))
        key = idempotency_key(fields.get("idempotency_key"))
        version = await _run_note(request, agent, order_id, text, key)
    except OrderNotFound:
        return _no_such_order(request, order_id, agent)
    except (FormError, DomainError) as error:
        message = str(error) if isinstance(error, FormError) else _refusal(error)
        read = await container_of(request).summary.order(str(order_id))
        if read is None:
            return error_page(request, 422, "Note not saved", message, agent=agent)
        draft = (fields.get("body") or "")[: NOTE_MAX_CHARS * 2]
        context = {"note_error": message, "note_draft": draft}
        return await _order_view(request, agent, read, status_code=422, **context)
    target = f"/support/orders/{order_id}?min_version={version}"
    return RedirectResponse(target, status_code=303)


async def _run_note(request: Request, agent: Principal, order_id: UUID, text: str, key: str) -> int:
    """The command through the executor, fingerprinted like the API; the new version."""
    body = NoteIn(body=text)
    ctx = agent_context(request, agent, "add_support_note", body, key)
    command = commands.AddSupportNote(order_id, body.body)
    outcome = await container_of(request).executor.execute(command, ctx)
    return int(json.loads(outcome.body)["version"])


def _refusal(error: DomainError) -> str:
    if isinstance(error, IdempotencyMismatch):
        return "This form was already used for a different note. Save it again to add it."
    if isinstance(error, RequestInFlight):
        return "The note is still being saved. Wait a moment and reload the page."
    return error.detail


def _no_such_order(request: Request, order_id: UUID, agent: Principal) -> Response:
    detail = f"No order {order_id} is known to the read model."
    return error_page(request, 404, "Order not found", detail, agent=agent)


async def _order_view(
    request: Request, agent: Principal, read: SummaryRead, *, status_code: int = 200, **extra: Any
) -> Response:
    order = read.order
    reads = await container_of(request).summary.customer_orders(order["customer"]["id"], 21)
    others = [other for other in reads if other.order["order_id"] != order["order_id"]][:20]
    # The timeline is the write side's truth (event log and audit log), read live: it is what
    # support looks at when the summary and the customer disagree.
    entries = await container_of(request).history.of(UUID(order["order_id"])) or []
    context: dict[str, Any] = {
        "agent": agent,
        "order": order,
        "freshness": read.freshness.to_dict(),
        "others": others,
        "history": [entry.to_dict() for entry in entries],
        "note_key": str(uuid4()),
        "note_error": None,
        "note_draft": "",
        "note_max": NOTE_MAX_CHARS,
        **extra,
    }
    return page(request, "order.html", context, status_code=status_code)
