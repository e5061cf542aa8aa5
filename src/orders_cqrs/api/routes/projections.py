"""Projection admin for ops: status and lag, dead letters, replay."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from orders_cqrs.api.auth import Ops
from orders_cqrs.api.deps import ContainerDep
from orders_cqrs.api.routes.responses import problems
from orders_cqrs.bootstrap import engine_settings, rebuild_target
from orders_cqrs.domain.errors import DomainError
from orders_cqrs.readmodels.engine import replay_dead_letters
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.rebuild import rebuild
from orders_cqrs.readmodels.status import read_status

router = APIRouter(prefix="/v1/projections", tags=["projections"])
Name = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]


class UnknownProjection(DomainError):
    """No projection has that name."""

    problem_type = "not-found"


class ReplayIn(BaseModel):
    """Which dead letters to replay; all open ones when ``ids`` is absent."""

    model_config = ConfigDict(extra="forbid")
    ids: Annotated[list[StrictInt], Field(max_length=1000)] | None = None


def _projection(container: ContainerDep, name: str) -> Projection:
    if name not in container.projections:
        raise UnknownProjection(f"no projection named {name}")
    return container.projections[name]


@router.get("", responses=problems())
async def list_projections(principal: Ops, container: ContainerDep) -> dict[str, Any]:
    """Per projection: last event applied, lag in events and seconds, retries, dead letters."""
    stream = container.settings.stream_name
    result = []
    for name in container.projections:
        status = await read_status(container.redis, stream, name)
        status["dead_letters"] = await container.dead_letters.count_open(name)
        status["rebuild"] = _rebuild_state(container, name)
        result.append(status)
    return {"projections": result}


class RebuildUnsupported(DomainError):
    """That projection has no blue/green rebuild."""

    problem_type = "illegal-transition"


class RebuildRunning(DomainError):
    """A rebuild of that projection is already running in this process."""

    problem_type = "illegal-transition"


@router.post("/{name}/rebuild", status_code=202, responses=problems(404, 409))
async def start_rebuild(name: Name, principal: Ops, container: ContainerDep) -> dict[str, Any]:
    """Start a blue/green rebuild from the outbox; readers flip when it has caught up."""
    _projection(container, name)
    try:
        target = rebuild_target(
            name, container.redis, container.search, search_alias=container.settings.search_alias
        )
    except ValueError as error:  # e.g. analytics: idempotent tables, no blue/green generations
        raise RebuildUnsupported(str(error)) from error
    running = container.rebuilds.get(name)
    if running is not None and not running.done():
        raise RebuildRunning(f"a rebuild of {name} is already running")
    container.rebuilds[name] = asyncio.create_task(
        rebuild(
            target,
            container.engine,
            container.redis,
            container.dead_letters,
            engine_settings(container.settings),
        )
    )
    return {"projection": name, "rebuild": "started"}


def _rebuild_state(container: ContainerDep, name: str) -> str | None:
    task = container.rebuilds.get(name)
    if task is None:
        return None
    if not task.done():
        return "running"
    if task.cancelled() or task.exception() is not None:
        return f"failed: {task.exception()!r}"
    report = task.result()
    return f"done: {report.old_namespace} → {report.new_namespace}"


@router.get("/{name}/dead-letters", responses=problems(404))
async def list_dead_letters(name: Name, principal: Ops, container: ContainerDep) -> dict[str, Any]:
    """Open dead letters of a projection, with their errors."""
    _projection(container, name)
    letters = await container.dead_letters.list_for(name)
    return {"projection": name, "dead_letters": [letter.to_dict() for letter in letters]}


@router.post("/{name}/dead-letters/replay", responses=problems(404))
async def replay(
    name: Name, principal: Ops, container: ContainerDep, body: ReplayIn | None = None
) -> dict[str, Any]:
    """Apply dead letters again (after the cause is fixed); failures stay parked."""
    projection = _projection(container, name)
    ids = body.ids if body is not None else None
    replayed, failing = await replay_dead_letters(projection, container.dead_letters, ids)
    return {"projection": name, "replayed": replayed, "still_failing": failing}
