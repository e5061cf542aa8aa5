"""What the ops endpoints answer: projections, rebuilds, dead letters, dashboards, health.

Like ``api/views.py``: models for the OpenAPI document and generated clients; the routes send
the admin objects' JSON unchanged, and extra members are allowed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class RebuildState(BaseModel):
    """The last rebuild of a projection, from whichever process ran it."""

    state: Literal["running", "done", "failed", "interrupted"]
    started_by: str
    old_generation: str | None
    new_generation: str | None
    consumer_group: str | None
    total: int | None = Field(description="Events to replay, once counted.")
    scanned: int
    caught_up: int | None
    dead_lettered: int = Field(description="Events parked as dead letters instead of applied.")
    error: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ProjectionStatus(BaseModel):
    """One projection: what it applied last, how far behind it is, its counters."""

    name: str
    last_event_id: str | None
    last_position: int | None
    last_stream_id: str | None
    lag_events: int = Field(description="Stream entries not yet acknowledged.")
    lag_seconds: float = Field(description="Age of the oldest of them.")
    heartbeat: datetime | None
    applied: int
    duplicate: int
    stale: int
    dead_lettered: int
    retries: int
    dead_letters_total: int
    backfills: int
    backfilled_events: int
    dead_letters: int = Field(description="Open dead letters (not replayed yet).")
    rebuild: RebuildState | None


class StreamGroup(BaseModel):
    """A consumer group on the stream; ``orphaned`` ones do not hold retention."""

    name: str
    kind: Literal["projection", "rebuild", "orphaned"]
    consumers: int
    pending: int
    last_delivered_id: str
    lag_events: int
    lag_seconds: float


class ProjectionsOverview(BaseModel):
    """Every projection and every consumer group on the stream."""

    projections: list[ProjectionStatus]
    groups: list[StreamGroup]


class RebuildStarted(BaseModel):
    """A rebuild runs in the background; ``GET /v1/projections`` follows it."""

    projection: str
    rebuild: Literal["started"]


class DeadLetterView(BaseModel):
    """An event a projection could not apply, parked with its error."""

    id: int = Field(description="Pass in `ids` to replay just this one.")
    projection: str
    stream_id: str
    event_id: UUID
    position: int
    aggregate_id: UUID
    aggregate_version: int
    event_type: str
    error: str
    attempts: int
    first_failed_at: datetime = Field(description="When the event first failed while parked.")
    failed_at: datetime = Field(description="When it failed last.")
    replayed_at: datetime | None


class DeadLetterPage(BaseModel):
    """One page of a projection's open dead letters, oldest first."""

    projection: str
    dead_letters: list[DeadLetterView]
    next: str | None = Field(
        description="The next page's URL (relative to the API), or null on the last page."
    )


class ReplayResult(BaseModel):
    """How a replay went: failures stay parked with their new error."""

    projection: str
    replayed: int
    still_failing: int


class AnalyticsFreshness(BaseModel):
    """How far the analytics read model is behind the stream."""

    projection: str
    last_event_id: str | None
    last_position: int | None
    lag_events: int
    lag_seconds: float
    heartbeat: datetime | None
    dead_letters: int


class StuckSla(BaseModel):
    """Seconds an order may stay in each state before it counts as stuck."""

    PENDING_PAYMENT: float
    AUTHORIZED: float
    CAPTURED: float


class StuckOrder(BaseModel):
    """One stuck order of a group (drill-down)."""

    order_id: UUID
    age_seconds: float


class StuckGroup(BaseModel):
    """Stuck orders sharing the ``group_by`` values (only the chosen columns are present)."""

    region: str | None = None
    provider: str | None = None
    status: str | None = None
    orders: int
    oldest_age_seconds: float
    orders_oldest_first: list[StuckOrder] | None = Field(
        default=None, description="With `drill=true`: the oldest order ids of the group."
    )


class StuckOrders(BaseModel):
    """Orders past their state's SLA, grouped."""

    as_of: datetime
    group_by: list[str]
    sla_seconds: StuckSla
    total: int
    oldest_age_seconds: float | None
    groups: list[StuckGroup]
    freshness: AnalyticsFreshness


class SeriesPoint(BaseModel):
    """One time bucket: counts, and amounts per currency (minor units never add across)."""

    t: datetime
    orders_placed: int
    refunds: int
    authorized: int
    declined: int
    cancelled: int
    revenue: dict[str, int]
    captured: dict[str, int]
    refunded: dict[str, int]
    decline_rate: float | None


class SeriesLine(BaseModel):
    """The buckets of one dimension value (``key`` null when ``by=none``)."""

    key: str | None
    points: list[SeriesPoint]


class ProviderDecisions(BaseModel):
    """A provider's payment decisions in the window."""

    authorized: int
    declined: int
    decline_rate: float | None


class OrderSeries(BaseModel):
    """Orders, revenue, captures, refunds and decline rate per bucket and dimension value."""

    model_config = ConfigDict(populate_by_name=True)

    interval: Literal["minute", "hour", "day"]
    by: Literal["region", "provider", "none"]
    from_: datetime = Field(alias="from")
    to: datetime
    buckets: list[datetime]
    series: list[SeriesLine]
    decline_rate_by_provider: dict[str, ProviderDecisions]
    freshness: AnalyticsFreshness


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """PostgreSQL answers."""

    status: Literal["ready"]
