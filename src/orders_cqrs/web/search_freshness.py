"""How far behind the write model each search result is: the colour and words of its dot.

A search row is the index's copy of an order at ``source_version``. What matters to the agent
is not when that copy was written (an order nobody touched for a week is still current) but
how long the order has had a change the copy lacks. So the age of a row is the time since the
write model committed version ``source_version + 1``, and zero when there is no such event.
All rows of a page are asked about in one query to the event log, on the database's clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from orders_cqrs.db.lookups import WriteModelLookups
from orders_cqrs.failures.stores import StoreError
from orders_cqrs.web.render import ago

log = structlog.get_logger(__name__)
FRESH_BELOW_SECONDS = 5.0
LATE_BELOW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class RowFreshness:
    """A row's dot: its level (``fresh``, ``late``, ``stale``, ``unknown``), the CSS class of
    its colour, a short label shown beside it, and the full sentence of its title."""

    level: str
    css: str
    label: str
    title: str


_CSS = {"fresh": "dot-ok", "late": "dot-late", "stale": "dot-stale", "unknown": "dot-unknown"}


def classify(version: int, behind_seconds: float | None, newer_version: int | None) -> RowFreshness:
    """The dot of a row at ``version`` whose next version committed ``behind_seconds`` ago
    (None: the row holds the latest version)."""
    if behind_seconds is None:
        title = f"Up to date: the index holds version {version}, the latest."
        return RowFreshness("fresh", _CSS["fresh"], "current", title)
    level = (
        "fresh"
        if behind_seconds < FRESH_BELOW_SECONDS
        else "late"
        if behind_seconds < LATE_BELOW_SECONDS
        else "stale"
    )
    label = f"{ago(behind_seconds)} behind"
    title = (
        f"Behind: the index holds version {version}; version {newer_version} was committed"
        f" {ago(behind_seconds)} ago and is not in the index yet."
    )
    return RowFreshness(level, _CSS[level], label, title)


UNKNOWN = RowFreshness(
    "unknown", _CSS["unknown"], "unknown", "Freshness unknown: the write model did not answer."
)


async def row_freshness(
    lookups: WriteModelLookups, hits: Sequence[Mapping[str, Any]]
) -> dict[str, RowFreshness]:
    """Each hit's dot, by order id; every dot ``unknown`` when PostgreSQL cannot say."""
    wanted = [(str(hit["order_id"]), int(hit["source_version"]) + 1) for hit in hits]
    by_id = {str(hit["order_id"]): hit for hit in hits}
    try:
        newer = await lookups.event_ages(wanted)
    except (SQLAlchemyError, StoreError, OSError):
        log.warning("search_row_freshness_unavailable", rows=len(wanted))
        return {order_id: UNKNOWN for order_id, _ in wanted}
    dots: dict[str, RowFreshness] = {}
    for order_id, next_version in wanted:
        found = newer.get(order_id)
        behind = None if found is None else max(found[1], 0.0)
        dot = classify(next_version - 1, behind, next_version)
        written = _written_ago(by_id[order_id].get("projected_at"))
        if written is not None:
            title = f"{dot.title} Copy written {written} ago."
            dot = RowFreshness(dot.level, dot.css, dot.label, title)
        dots[order_id] = dot
    return dots


def _written_ago(projected_at: Any) -> str | None:
    try:
        moment = datetime.fromisoformat(str(projected_at))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ago(max((datetime.now(UTC) - moment).total_seconds(), 0.0))
