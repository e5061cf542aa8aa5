"""FastAPI dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from orders_cqrs.bootstrap import Container


async def get_container(request: Request) -> Container:
    """The process's container, built in the app's lifespan (async: no thread hop)."""
    return cast(Container, request.app.state.container)


ContainerDep = Annotated[Container, Depends(get_container)]
