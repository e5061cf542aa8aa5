"""FastAPI dependency aliases: each route asks for the one part of the container it uses."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from orders_cqrs.bootstrap import Container
from orders_cqrs.db.history import OrderHistory
from orders_cqrs.db.lookups import WriteModelLookups
from orders_cqrs.readmodels.admin import ProjectionAdmin
from orders_cqrs.readmodels.analytics.dashboards import Dashboards
from orders_cqrs.readmodels.search.reader import SupportSearch
from orders_cqrs.readmodels.summary.reader import SummaryReader
from orders_cqrs.write.executor import Executor
from orders_cqrs.write.payments.authorization import PaymentAuthorizer
from orders_cqrs.write.payments.voiding import OrderCanceller

# Every dependency below is async: FastAPI runs a sync dependency in a worker thread, a
# thread hop per request for what is an attribute read.


def container_of(request: Request) -> Container:
    """The process's container, opened in the app's lifespan."""
    return cast(Container, request.app.state.container)


async def get_executor(request: Request) -> Executor:
    """The one way a command runs."""
    return container_of(request).executor


async def get_authorizer(request: Request) -> PaymentAuthorizer:
    """Payment authorization around the provider call."""
    return container_of(request).authorizer


async def get_canceller(request: Request) -> OrderCanceller:
    """Cancel, voiding the order's hold with the provider."""
    return container_of(request).canceller


async def get_summary(request: Request) -> SummaryReader:
    """Reads of the Redis order summary."""
    return container_of(request).summary


async def get_lookups(request: Request) -> WriteModelLookups:
    """Read-only questions to the write model."""
    return container_of(request).lookups


async def get_history(request: Request) -> OrderHistory:
    """Orders' histories from the write side."""
    return container_of(request).history


async def get_support_search(request: Request) -> SupportSearch:
    """The support index's search."""
    return container_of(request).support_search


async def get_dashboards(request: Request) -> Dashboards | None:
    """The dashboard queries; None when analytics is off."""
    return container_of(request).dashboards


async def get_admin(request: Request) -> ProjectionAdmin:
    """Projection status, dead letters and rebuilds."""
    return container_of(request).admin


ExecutorDep = Annotated[Executor, Depends(get_executor)]
AuthorizerDep = Annotated[PaymentAuthorizer, Depends(get_authorizer)]
CancellerDep = Annotated[OrderCanceller, Depends(get_canceller)]
SummaryDep = Annotated[SummaryReader, Depends(get_summary)]
LookupsDep = Annotated[WriteModelLookups, Depends(get_lookups)]
HistoryDep = Annotated[OrderHistory, Depends(get_history)]
SupportSearchDep = Annotated[SupportSearch, Depends(get_support_search)]
DashboardsDep = Annotated[Dashboards | None, Depends(get_dashboards)]
AdminDep = Annotated[ProjectionAdmin, Depends(get_admin)]
