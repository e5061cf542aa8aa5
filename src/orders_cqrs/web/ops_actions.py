"""What ops can do from the ops page: replay dead letters and start rebuilds.

Each action is two steps. A GET renders a confirmation that says exactly what will happen
(the dead letters that will be replayed, the projection that will be rebuilt), carrying a
fresh idempotency key; its form POSTs that key. The POST runs the same admin operation as the
JSON API (``replay_dead_letters``, ``ProjectionAdmin.start_rebuild``) through the same
idempotent admin request (``write/admin_requests.py``): a form sent twice gets the first
answer, and the audit log names the operator.

A replay confirmation pins the ids it showed: "replay all" replays the letters the operator
saw, not whatever was parked since.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from orders_cqrs.api.envelope import KEY_PATTERN, fingerprint, trace_context
from orders_cqrs.api.routes.projections import ReplayIn
from orders_cqrs.failures.refusals import AdminRefusal
from orders_cqrs.failures.stores import StoreError
from orders_cqrs.readmodels.engine import replay_dead_letters
from orders_cqrs.web.forms import form_fields
from orders_cqrs.web.guard import container_of
from orders_cqrs.web.ops_gate import form_operator, operator_or_login, ops_error
from orders_cqrs.web.render import page, secured
from orders_cqrs.write.admin_requests import AdminAnswer, run_admin_request
from orders_cqrs.write.context import CommandContext
from orders_cqrs.write.errors import IdempotencyMismatch, RequestInFlight

router = APIRouter(prefix="/ops", include_in_schema=False)
MAX_IDS = 1000  # as the API's replay body
_KEY = re.compile(KEY_PATTERN)
_IDS = re.compile(r"^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17})*$")


class FormRefused(Exception):
    """A posted field that the page itself never writes: the form was tampered with or stale."""


def _key(fields: dict[str, str]) -> str:
    key = fields.get("idempotency_key", "")
    if not _KEY.match(key):
        raise FormRefused("The confirmation expired. Open it again from the ops page.")
    return key


def _ids(fields: dict[str, str]) -> list[int]:
    raw = fields.get("ids", "")
    if not _IDS.match(raw) or raw.count(",") >= MAX_IDS:
        raise FormRefused(f"The form names no dead letters (or more than {MAX_IDS}).")
    return [int(part) for part in raw.split(",")]


def _context(request: Request, client_id: str, command: str, key: str, body: Any) -> CommandContext:
    """The admin request's context, fingerprinted like the API's for the same body."""
    return CommandContext(
        command=command,
        actor=client_id,
        client_id=client_id,
        idempotency_key=key,
        fingerprint=fingerprint(request.method, request.url.path, body),
        traceparent=trace_context(request.headers.get("traceparent")),
    )


def _key_refusal(error: Exception) -> str:
    if isinstance(error, IdempotencyMismatch):
        return "This confirmation was already used for something else. Open it again."
    if isinstance(error, RequestInFlight):
        return "This request is still running. Reload the ops page in a moment."
    return str(error)


# Dead letters ------------------------------------------------------------------------------


@router.get("/dead-letters/{name}/replay")
async def confirm_replay(request: Request, name: str) -> Response:
    """What a replay would do: one letter (``?id=``) or every open one of the projection."""
    client_id = await operator_or_login(request)
    if isinstance(client_id, Response):
        return client_id
    admin = container_of(request).admin
    if name not in admin.projections:
        return _no_projection(request, name, client_id)
    letters = await admin.dead_letters.list_for(name)
    wanted = request.query_params.get("id")
    if wanted is not None:
        letters = [letter for letter in letters if str(letter.id) == wanted]
        if not letters:
            detail = f"Dead letter {wanted[:20]} of {name} is not open (replayed, or never parked)."
            return ops_error(request, 404, "No such dead letter", detail, client_id=client_id)
    context = {
        "client_id": client_id,
        "projection": name,
        "letters": [letter.to_dict() for letter in letters],
        "one": wanted is not None,
        "ids": ",".join(str(letter.id) for letter in letters),
        "key": str(uuid4()),
    }
    return page(request, "ops_replay.html", context)


@router.post("/dead-letters/{name}/replay")
async def replay(request: Request, name: str) -> Response:
    """Replay the confirmed dead letters; the page says how many were applied, which failed."""
    client_id = await form_operator(request)
    if isinstance(client_id, Response):
        return client_id
    container = container_of(request)
    admin = container.admin
    if name not in admin.projections:
        return _no_projection(request, name, client_id)
    projection = admin.projections[name]
    fields = await form_fields(request)
    try:
        key, ids = _key(fields), _ids(fields)
    except FormRefused as error:
        return ops_error(request, 400, "Not replayed", str(error), client_id=client_id)
    ctx = _context(request, client_id, "replay_dead_letters", key, ReplayIn(ids=ids))

    async def work() -> AdminAnswer:
        replayed, failing = await replay_dead_letters(projection, admin.dead_letters, ids)
        body = {"projection": name, "replayed": replayed, "still_failing": failing}
        return AdminAnswer(200, body)

    try:
        outcome = await run_admin_request(container.executor, ctx, work)
    except (IdempotencyMismatch, RequestInFlight) as error:
        return ops_error(request, 409, "Not replayed", _key_refusal(error), client_id=client_id)
    except StoreError:
        detail = "A store did not answer. Nothing was marked replayed that was not applied."
        return _unavailable(request, "Replay interrupted", detail, client_id)
    answer = orjson.loads(outcome.body)
    still_open = [letter.to_dict() for letter in await admin.dead_letters.list_for(name)]
    context = {
        "client_id": client_id,
        "projection": name,
        "asked": len(ids),
        "replayed": answer["replayed"],
        "still_failing": answer["still_failing"],
        "repeated": outcome.replayed,
        "failing": [letter for letter in still_open if letter["id"] in ids],
        "open": len(still_open),
    }
    return page(request, "ops_replayed.html", context)


# Rebuilds ----------------------------------------------------------------------------------


@router.get("/rebuilds/{name}")
async def confirm_rebuild(request: Request, name: str) -> Response:
    """What a rebuild would do, and the rebuild running now, if one is."""
    client_id = await operator_or_login(request)
    if isinstance(client_id, Response):
        return client_id
    admin = container_of(request).admin
    if name not in admin.projections:
        return _no_projection(request, name, client_id)
    try:
        admin.rebuildable(name)
    except AdminRefusal as error:
        return ops_error(request, 409, "Cannot rebuild here", error.detail, client_id=client_id)
    context = {
        "client_id": client_id,
        "projection": name,
        "rebuild": await admin.rebuild_state(name),
        "key": str(uuid4()),
        "refusal": None,
    }
    return page(request, "ops_rebuild.html", context)


@router.post("/rebuilds/{name}")
async def start_rebuild(request: Request, name: str) -> Response:
    """Start the rebuild in this process and follow it on the ops page; refuse clearly when
    one is running anywhere (the lease is a PostgreSQL lock, ``db/rebuilds.py``)."""
    client_id = await form_operator(request)
    if isinstance(client_id, Response):
        return client_id
    container = container_of(request)
    admin = container.admin
    if name not in admin.projections:
        return _no_projection(request, name, client_id)
    try:
        key = _key(await form_fields(request))
        target = admin.rebuildable(name)  # refused before the key is claimed, as in the API
    except FormRefused as error:
        return ops_error(request, 400, "Not started", str(error), client_id=client_id)
    except AdminRefusal as error:
        return ops_error(request, 409, "Cannot rebuild here", error.detail, client_id=client_id)
    ctx = _context(request, client_id, "rebuild_projection", key, None)

    async def work() -> AdminAnswer:
        await admin.start_rebuild(target, started_by=client_id)
        return AdminAnswer(202, {"projection": name, "rebuild": "started"})

    try:
        await run_admin_request(container.executor, ctx, work)
    except AdminRefusal as error:  # a rebuild is running, or the history is gone
        context = {
            "client_id": client_id,
            "projection": name,
            "rebuild": await admin.rebuild_state(name),
            "key": str(uuid4()),
            "refusal": error.detail,
        }
        return page(request, "ops_rebuild.html", context, status_code=409)
    except (IdempotencyMismatch, RequestInFlight) as error:
        return ops_error(request, 409, "Not started", _key_refusal(error), client_id=client_id)
    except StoreError:
        return _unavailable(request, "Not started", "A store did not answer.", client_id)
    return secured(RedirectResponse("/ops#rebuilds", status_code=303))


def _no_projection(request: Request, name: str, client_id: str) -> Response:
    detail = f"No projection is named {name[:64]!r}."
    return ops_error(request, 404, "No such projection", detail, client_id=client_id)


def _unavailable(request: Request, title: str, detail: str, client_id: str) -> Response:
    response = ops_error(request, 503, title, detail, client_id=client_id)
    response.headers["Retry-After"] = "2"
    return response
