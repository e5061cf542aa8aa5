"""The ops page's lag over the last hour: per projection, from Prometheus' HTTP API, drawn on the
server as SVG lines (the page's table shows only the current lag; the history is Prometheus').

The series are the relay's measurements from the stream (``orders_stream_group_*``), so a
projector that died shows as a rising line, not as a gap. Optional: without
``ORDERS_PROMETHEUS_URL``, or with a Prometheus that does not answer, the section says so and
the rest of the page renders as ever. Colours are SVG presentation attributes: the console's
Content-Security-Policy blocks inline ``style`` attributes, not those.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from markupsafe import Markup, escape

from orders_cqrs.bootstrap import Container
from orders_cqrs.observability.prometheus_api import PrometheusUnavailable, Series
from orders_cqrs.web.ops_chart import nice_ceiling

log = structlog.get_logger(__name__)

WINDOW = timedelta(hours=1)
STEP_SECONDS = 60
# chart key → (title, PromQL per projection, unit)
CHARTS = {
    "events": ("Lag (events)", "max by (projection) (orders_stream_group_lag_events)", ""),
    "seconds": (
        "Lag (age of the oldest unapplied event)",
        "max by (projection) (orders_stream_group_oldest_unapplied_age_seconds)",
        "s",
    ),
}
# One colour per projection on every chart; names the service does not know take the rest.
COLOURS = {"summary": "#3b6fd4", "search": "#e8590c", "analytics": "#2f9e44"}
SPARE_COLOURS = ("#ae3ec9", "#1098ad", "#e03131", "#5c5f66")
WIDTH, HEIGHT = 960, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 32


async def lag_history(container: Container, now: datetime) -> dict[str, Any]:
    """The section's context: ``lag_state`` (off, unavailable, empty, ok), a message, charts."""
    prometheus = container.prometheus
    if prometheus is None:
        return _message("off", "Lag history is off: ORDERS_PROMETHEUS_URL is empty.")
    start = now - WINDOW
    try:
        answers = await asyncio.gather(
            *(prometheus.query_range(q, start, now, STEP_SECONDS) for _, q, _ in CHARTS.values())
        )
    except PrometheusUnavailable as error:
        log.warning("ops_page_prometheus_unavailable", error=str(error)[:300])
        return _message(
            "unavailable", "Prometheus is not answering (ORDERS_PROMETHEUS_URL); no lag history."
        )
    if not any(series.points for found in answers for series in found):
        return _message(
            "empty", "Prometheus has no lag in the last hour: is it scraping the relay?"
        )
    charts = [
        {
            "key": key,
            "title": title,
            "svg": lag_chart(key, title, _by_projection(found), start, now, unit),
        }
        for (key, (title, _, unit)), found in zip(CHARTS.items(), answers, strict=True)
    ]
    return {"lag_state": "ok", "lag_message": None, "lag_charts": charts}


def _message(state: str, text: str) -> dict[str, Any]:
    return {"lag_state": state, "lag_message": text, "lag_charts": []}


def _by_projection(found: Sequence[Series]) -> dict[str, list[tuple[datetime, float]]]:
    return {s.labels.get("projection", "?"): s.points for s in found if s.points}


def _fmt(value: float, unit: str) -> str:
    shown = f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
    return f"{shown} {unit}".strip()


def lag_chart(
    key: str,
    title: str,
    series: Mapping[str, Sequence[tuple[datetime, float]]],
    start: datetime,
    end: datetime,
    unit: str,
) -> Markup:
    """One line per projection over [start, end], with axes, a legend and the latest values."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (end - start).total_seconds()
    top = nice_ceiling(math.ceil(max((v for pts in series.values() for _, v in pts), default=0)))

    def xy(moment: datetime, value: float) -> tuple[float, float]:
        x = LEFT + plot_w * (moment - start).total_seconds() / span
        return x, TOP + plot_h - plot_h * min(value, top) / top

    parts = [
        f'<svg class="chart lag-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-labelledby="lag-{key}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="lag-{key}-title">{escape(title)} per projection, last hour</title>',
    ]
    for tick in (0, top // 2, top) if top > 1 else (0, top):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_fmt(tick, unit)}</text>"
        )
    mark = start.replace(second=0, microsecond=0) + timedelta(minutes=10 - start.minute % 10)
    while mark <= end:
        parts.append(
            f'<text class="axis" x="{xy(mark, 0)[0]:.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
            f"{mark:%H:%M}</text>"
        )
        mark += timedelta(minutes=10)
    for index, (name, points) in enumerate(sorted(series.items())):
        colour = COLOURS.get(name, SPARE_COLOURS[index % len(SPARE_COLOURS)])
        parts.append(
            f'<g class="lag-series" data-projection="{escape(name)}" data-points="{len(points)}">'
            f"<title>{escape(name)}: {_fmt(points[-1][1], unit)} now</title>"
        )
        for segment in _segments(points):
            at = [xy(*point) for point in segment]
            if len(at) == 1:  # a lone value between gaps: a dot, a line needs two
                parts.append(
                    f'<circle cx="{at[0][0]:.1f}" cy="{at[0][1]:.1f}" r="2" fill="{colour}"/>'
                )
                continue
            path = " ".join(f"{'L' if i else 'M'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(at))
            parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        legend_x = LEFT + index * 180
        parts.append(
            f'<rect x="{legend_x}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text class="legend" x="{legend_x + 18}" y="18">{escape(name)}'
            f" · {_fmt(points[-1][1], unit)}</text></g>"
        )
    parts.append(
        f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}"'
        f' y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
        f'<text class="axis" x="{WIDTH - RIGHT}" y="18" text-anchor="end">UTC</text></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped labels only


def _segments(
    points: Sequence[tuple[datetime, float]],
) -> list[list[tuple[datetime, float]]]:
    """The points split where Prometheus had no value for more than a step (no line across)."""
    segments: list[list[tuple[datetime, float]]] = []
    for point in points:
        gap = segments and (point[0] - segments[-1][-1][0]).total_seconds() > 1.5 * STEP_SECONDS
        if not segments or gap:
            segments.append([])
        segments[-1].append(point)
    return segments
