"""Ops dashboards over the analytics read model: stuck orders and order time series.

Every query reads through ``FINAL``: ReplacingMergeTree collapses duplicates and old versions
only when it merges, whenever that is, so raw rows may still hold an order twice. ``FINAL``
merges at read time and answers as if every merge had run. User input never becomes SQL:
grouping columns and intervals come from fixed tables, values are bound parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orders_cqrs.failures.refusals import InvalidDashboardQuery
from orders_cqrs.readmodels.analytics.schema import SchemaGate
from orders_cqrs.readmodels.analytics.session import ClickHouseSession

GROUPS = ("region", "provider", "status")
INTERVALS = {"minute": 60, "hour": 3600, "day": 86_400}
DIMENSIONS = {"region": "region", "provider": "provider", "none": "''"}
DEFAULT_WINDOWS = {"minute": timedelta(hours=2), "hour": timedelta(hours=24), "day": timedelta(30)}
MAX_BUCKETS = 2000
# Inside what DateTime64 holds, and what an order service can have seen.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)

_STUCK = """
SELECT {columns} count() AS orders, max(age) AS oldest_age_seconds{drill}
  FROM (
    SELECT order_id, status, region, provider,
           multiIf(status = 'PENDING_PAYMENT', placed_at,
                   status = 'AUTHORIZED', ifNull(authorized_at, updated_at),
                   ifNull(captured_at, updated_at)) AS since,
           dateDiff('millisecond', since, {{now:DateTime64(3, 'UTC')}}) / 1000 AS age,
           multiIf(status = 'PENDING_PAYMENT', {{pending:Float64}},
                   status = 'AUTHORIZED', {{authorized:Float64}},
                   {{captured:Float64}}) AS sla
      FROM order_state FINAL
     WHERE status IN ('PENDING_PAYMENT', 'AUTHORIZED', 'CAPTURED')
  )
 WHERE age > sla
 {group_clause}
 ORDER BY orders DESC, oldest_age_seconds DESC
"""
_DRILL = (
    ", arraySlice(arrayReverseSort(x -> x.2, groupArray((toString(order_id), age))),"
    " 1, {limit:UInt32}) AS examples"
)
_SERIES = """
SELECT intDiv(toUnixTimestamp(occurred_at), {{step:UInt32}}) * {{step:UInt32}} AS bucket,
       {dimension} AS key, currency,
       countIf(event_type = 'OrderPlaced') AS orders_placed,
       sumIf(amount, event_type = 'OrderPlaced') AS revenue,
       sumIf(amount, event_type = 'PaymentCaptured') AS captured,
       countIf(event_type = 'RefundIssued') AS refunds,
       sumIf(amount, event_type = 'RefundIssued') AS refunded,
       countIf(event_type = 'PaymentAuthorized') AS authorized,
       countIf(event_type = 'PaymentDeclined') AS declined,
       countIf(event_type = 'OrderCancelled') AS cancelled
  FROM order_events FINAL
 WHERE occurred_at >= {{start:DateTime64(3, 'UTC')}} AND occurred_at < {{end:DateTime64(3, 'UTC')}}
 GROUP BY bucket, key, currency
"""
_PROVIDER_RATES = """
SELECT provider,
       countIf(event_type = 'PaymentAuthorized') AS authorized,
       countIf(event_type = 'PaymentDeclined') AS declined
  FROM order_events FINAL
 WHERE occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}
   AND event_type IN ('PaymentAuthorized', 'PaymentDeclined')
 GROUP BY provider ORDER BY provider
"""
COUNTS = ("orders_placed", "refunds", "authorized", "declined", "cancelled")
AMOUNTS = ("revenue", "captured", "refunded")


@dataclass(frozen=True, slots=True)
class StuckSla:
    """Seconds an order may stay in each non-final state before it counts as stuck."""

    pending_payment: float
    authorized: float
    captured: float

    def to_dict(self) -> dict[str, float]:
        """By status name, as the API shows them."""
        return {
            "PENDING_PAYMENT": self.pending_payment,
            "AUTHORIZED": self.authorized,
            "CAPTURED": self.captured,
        }


def decline_rate(authorized: int, declined: int) -> float | None:
    """declined / (authorized + declined); None when no payment was decided."""
    decided = authorized + declined
    return round(declined / decided, 4) if decided else None


def parse_group_by(raw: str) -> tuple[str, ...]:
    """``"region,provider"`` → ``("region", "provider")``; only known columns, each once."""
    chosen: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item not in GROUPS:
            raise InvalidDashboardQuery(f"group_by takes {', '.join(GROUPS)}; not {item[:40]!r}")
        if item not in chosen:
            chosen.append(item)
    return tuple(chosen)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Dashboards:
    """The dashboard queries, on a clock that tests control."""

    def __init__(
        self,
        session: ClickHouseSession,
        sla: StuckSla,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.session = session
        self.sla = sla
        self.clock = clock
        self.schema = SchemaGate(session)

    async def stuck_orders(
        self,
        group_by: Sequence[str] = ("region", "provider"),
        *,
        older_than: float | None = None,
        drill: bool = False,
        limit: int = 20,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Stuck orders (non-final past their SLA, or past ``older_than`` seconds for every
        state) grouped by the chosen columns: count and oldest age, optionally order ids."""
        columns = [column for column in group_by if column in GROUPS]
        at = now or self.clock()
        sla = StuckSla(older_than, older_than, older_than) if older_than is not None else self.sla
        sql = _STUCK.format(
            columns="".join(f"{column}, " for column in columns),
            drill=_DRILL if drill else "",
            group_clause=f"GROUP BY {', '.join(columns)}" if columns else "",
        )
        await self.schema.ensure()
        rows = await self.session.query(
            sql,
            {
                "now": at,
                "pending": sla.pending_payment,
                "authorized": sla.authorized,
                "captured": sla.captured,
                "limit": limit,
            },
        )
        groups = [_stuck_group(row, columns, drill) for row in rows if int(row["orders"])]
        return {
            "as_of": at.isoformat(),
            "group_by": columns,
            "sla_seconds": sla.to_dict(),
            "total": sum(group["orders"] for group in groups),
            "oldest_age_seconds": max((g["oldest_age_seconds"] for g in groups), default=None),
            "groups": groups,
        }

    async def order_series(
        self,
        interval: str = "hour",
        by: str = "none",
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> dict[str, Any]:
        """Orders placed, revenue, captures, refunds and payment decisions per time bucket
        and dimension value; empty buckets are present (zeros), so charts need no gaps logic."""
        if interval not in INTERVALS or by not in DIMENSIONS:
            raise InvalidDashboardQuery(
                "interval is minute|hour|day and by is region|provider|none"
            )
        step = INTERVALS[interval]
        end = _aware(end) or self.clock()
        start = _aware(start) or end - DEFAULT_WINDOWS[interval]
        first = int(start.timestamp()) // step * step
        if (
            not (EARLIEST <= start < end <= LATEST)
            or (end.timestamp() - first) / step > MAX_BUCKETS
        ):
            raise InvalidDashboardQuery(
                f"from must precede to, within {MAX_BUCKETS} {interval} buckets, 1970–2200"
            )
        buckets = list(range(first, int(end.timestamp()), step)) or [first]
        await self.schema.ensure()
        window = {"start": start, "end": end}
        rows = await self.session.query(
            _SERIES.format(dimension=DIMENSIONS[by]), {**window, "step": step}
        )
        rates = await self.session.query(_PROVIDER_RATES, window)
        return {
            "interval": interval,
            "by": by,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "buckets": [_iso(bucket) for bucket in buckets],
            "series": _series(rows, buckets),
            "decline_rate_by_provider": {
                str(row["provider"]): {
                    "authorized": int(row["authorized"]),
                    "declined": int(row["declined"]),
                    "decline_rate": decline_rate(int(row["authorized"]), int(row["declined"])),
                }
                for row in rates
            },
        }


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _stuck_group(row: dict[str, Any], columns: Sequence[str], drill: bool) -> dict[str, Any]:
    group: dict[str, Any] = {column: str(row[column]) for column in columns}
    group["orders"] = int(row["orders"])
    group["oldest_age_seconds"] = round(float(row["oldest_age_seconds"]), 3)
    if drill:
        group["orders_oldest_first"] = [
            {"order_id": str(order_id), "age_seconds": round(float(age), 3)}
            for order_id, age in row["examples"]
        ]
    return group


def _empty_point(bucket: int) -> dict[str, Any]:
    point: dict[str, Any] = {"t": _iso(bucket), **dict.fromkeys(COUNTS, 0)}
    point.update({name: {} for name in AMOUNTS})
    return point


def _series(rows: Sequence[dict[str, Any]], buckets: Sequence[int]) -> list[dict[str, Any]]:
    """Fold (bucket, key, currency) rows into one dense series per key; amounts per currency
    (minor units of different currencies never add up)."""
    index = {bucket: position for position, bucket in enumerate(buckets)}
    series: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        points = series.setdefault(str(row["key"]), [_empty_point(b) for b in buckets])
        position = index.get(int(row["bucket"]))
        if position is None:
            continue
        point = points[position]
        for name in COUNTS:
            point[name] += int(row[name])
        for name in AMOUNTS:
            if int(row[name]):
                currency = str(row["currency"])
                point[name][currency] = point[name].get(currency, 0) + int(row[name])
    if not series:
        series[""] = [_empty_point(b) for b in buckets]
    for points in series.values():
        for point in points:
            point["decline_rate"] = decline_rate(point["authorized"], point["declined"])
    return [{"key": key or None, "points": series[key]} for key in sorted(series)]
