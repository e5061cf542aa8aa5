"""Projection admin for ops: status and lag, the stream's groups, rebuilds, dead letters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from orders_cqrs.api.admin_views import (
    DeadLetterPage,
    ProjectionsOverview,
    RebuildStarted,
    ReplayResult,
)
from orders_cqrs.api.auth import Ops
from orders_cqrs.api.contract import (
    COMMAND,
    IDEMPOTENT_REPLAYED,
    LINK,
    READ,
    problem_responses,
    success,
)
from orders_cqrs.api.deps import AdminDep, ExecutorDep
from orders_cqrs.api.envelope import EnvelopeDep
from orders_cqrs.api.pagination import (
    AfterCursor,
    decode_cursor,
    encode_cursor,
    next_url,
    page_response,
)
from orders_cqrs.api.routes.responses import command_response
from orders_cqrs.failures.refusals import InvalidCursor, UnknownProjection
from orders_cqrs.readmodels.engine import replay_dead_letters
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.write.admin_requests import AdminAnswer, run_admin_request

router = APIRouter(prefix="/v1/projections", tags=["projections"])
Name = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
DEAD_LETTERS = "dead-letters"  # the cursor's listing name
MAX_ID = 2**63 - 1


class ReplayIn(BaseModel):
    """Which dead letters to replay; all open ones when ``ids`` is absent."""

    model_config = ConfigDict(extra="forbid")
    ids: Annotated[list[StrictInt], Field(max_length=1000)] | None = None


def _projection(admin: AdminDep, name: str) -> Projection:
    if name not in admin.projections:
        raise UnknownProjection(f"no projection named {name}")
    return admin.projections[name]


@router.get(
    "",
    response_model=ProjectionsOverview,
    responses=problem_responses(*READ, "store-busy"),
)
async def list_projections(principal: Ops, admin: AdminDep) -> JSONResponse:
    """Per projection: last event applied, lag, retries, dead letters, last rebuild; and every
    consumer group on the stream with its lag (``orphaned`` ones do not hold retention)."""
    return JSONResponse(
        {
            "projections": [await admin.overview(name) for name in admin.projections],
            "groups": await admin.groups(),
        }
    )


@router.post(
    "/{name}/rebuild",
    status_code=202,
    response_model=RebuildStarted,
    responses=success(202, headers=IDEMPOTENT_REPLAYED)
    | problem_responses(
        *COMMAND, "not-found", "rebuild-unsupported", "rebuild-running", "history-gone"
    ),
)
async def start_rebuild(
    name: Name, principal: Ops, envelope: EnvelopeDep, admin: AdminDep, executor: ExecutorDep
) -> Response:
    """Start a blue/green rebuild from the outbox; readers flip when it has caught up.

    One rebuild per projection runs at a time anywhere (API replicas, the CLI): another is
    refused with 409 rebuild-running.
    """
    _projection(admin, name)
    target = admin.rebuildable(name)  # refused before the key is claimed: nothing to store
    ctx = envelope.context("rebuild_projection", principal, None)

    async def work() -> AdminAnswer:
        await admin.start_rebuild(target, started_by=principal.client_id)
        return AdminAnswer(202, {"projection": name, "rebuild": "started"})

    return command_response(await run_admin_request(executor, ctx, work))


def _after_id(cursor: str, name: str) -> int:
    """The last dead-letter id a page of ``name``'s dead letters showed."""
    key = decode_cursor(cursor, DEAD_LETTERS, name)
    if len(key) != 1 or type(key[0]) is not int or not 0 < key[0] <= MAX_ID:
        raise InvalidCursor("after is not a cursor this listing issued")
    return int(key[0])


@router.get(
    "/{name}/dead-letters",
    response_model=DeadLetterPage,
    responses=success(200, headers=LINK) | problem_responses(*READ, "store-busy", "not-found"),
)
async def list_dead_letters(
    name: Name,
    principal: Ops,
    admin: AdminDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000, description="Dead letters per page.")] = 100,
    after: AfterCursor = None,
) -> JSONResponse:
    """Open dead letters of a projection, oldest first, with their errors; ``next`` pages on."""
    _projection(admin, name)
    after_id = _after_id(after, name) if after is not None else None
    letters = await admin.dead_letters.list_for(name, after_id=after_id, limit=limit + 1)
    shown = letters[:limit]
    next_page = None
    if len(letters) > limit:
        next_page = next_url(request, encode_cursor(DEAD_LETTERS, name, [shown[-1].id]), limit)
    body = {"projection": name, "dead_letters": [letter.to_dict() for letter in shown]}
    return page_response(body, next_page)


@router.post(
    "/{name}/dead-letters/replay",
    response_model=ReplayResult,
    responses=success(200, headers=IDEMPOTENT_REPLAYED) | problem_responses(*COMMAND, "not-found"),
)
async def replay(
    name: Name,
    principal: Ops,
    envelope: EnvelopeDep,
    admin: AdminDep,
    executor: ExecutorDep,
    body: ReplayIn | None = None,
) -> Response:
    """Apply dead letters again (after the cause is fixed); failures stay parked."""
    projection = _projection(admin, name)
    ctx = envelope.context("replay_dead_letters", principal, body)
    ids = body.ids if body is not None else None

    async def work() -> AdminAnswer:
        replayed, failing = await replay_dead_letters(projection, admin.dead_letters, ids)
        body = {"projection": name, "replayed": replayed, "still_failing": failing}
        return AdminAnswer(200, body)

    return command_response(await run_admin_request(executor, ctx, work))
