"""Projection admin for ops: status and lag, the stream's groups, rebuilds, dead letters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from orders_cqrs.api.auth import Ops
from orders_cqrs.api.deps import AdminDep, ExecutorDep
from orders_cqrs.api.envelope import EnvelopeDep
from orders_cqrs.api.routes.responses import command_response, problems
from orders_cqrs.failures.refusals import UnknownProjection
from orders_cqrs.readmodels.engine import replay_dead_letters
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.write.admin_requests import AdminAnswer, run_admin_request

router = APIRouter(prefix="/v1/projections", tags=["projections"])
Name = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "true when this is the stored answer of an earlier request with the key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


class ReplayIn(BaseModel):
    """Which dead letters to replay; all open ones when ``ids`` is absent."""

    model_config = ConfigDict(extra="forbid")
    ids: Annotated[list[StrictInt], Field(max_length=1000)] | None = None


def _projection(admin: AdminDep, name: str) -> Projection:
    if name not in admin.projections:
        raise UnknownProjection(f"no projection named {name}")
    return admin.projections[name]


@router.get("", responses=problems())
async def list_projections(principal: Ops, admin: AdminDep) -> dict[str, Any]:
    """Per projection: last event applied, lag, retries, dead letters, last rebuild; and every
    consumer group on the stream with its lag (``orphaned`` ones do not hold retention)."""
    return {
        "projections": [await admin.overview(name) for name in admin.projections],
        "groups": await admin.groups(),
    }


@router.post(
    "/{name}/rebuild",
    status_code=202,
    responses={202: {"headers": REPLAYED}, **problems(404, 409)},
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


@router.get("/{name}/dead-letters", responses=problems(404))
async def list_dead_letters(name: Name, principal: Ops, admin: AdminDep) -> dict[str, Any]:
    """Open dead letters of a projection, with their errors."""
    _projection(admin, name)
    letters = await admin.dead_letters.list_for(name)
    return {"projection": name, "dead_letters": [letter.to_dict() for letter in letters]}


@router.post(
    "/{name}/dead-letters/replay", responses={200: {"headers": REPLAYED}, **problems(404, 409)}
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
