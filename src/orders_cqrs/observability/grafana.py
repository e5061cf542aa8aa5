"""Grafana dashboards as code: the model (rows of panels of PromQL queries) and its rendering
as Grafana's dashboard JSON. The dashboards themselves are in ``grafana_dashboards.py``.

Why code and not hand-edited JSON: a panel is four facts (title, queries, unit, legend) and
the JSON around them is boilerplate that drifts; one renderer keeps every panel on the one
provisioned datasource and the grid tidy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The uid of the datasource that deploy/grafana/provisioning/datasources/ provisions.
DATASOURCE = {"type": "prometheus", "uid": "orders-prometheus"}
SCHEMA_VERSION = 39
RATE = "$__rate_interval"
WIDTH = 24
PANEL_HEIGHT = 8


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel and how its series are named in the legend."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    """A time series (or a stat) panel: what it shows, in which unit."""

    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    kind: str = "timeseries"
    width: int = 8
    thresholds: tuple[float, ...] = ()


@dataclass(frozen=True)
class Row:
    """A titled row of panels, laid out left to right, wrapping at the grid's width."""

    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    tags: tuple[str, ...] = field(default=("orders-cqrs",))


def q(expr: str, legend: str = "") -> Query:
    return Query(" ".join(expr.split()), legend)


def quantiles(metric: str, by: str, legend: str) -> tuple[Query, ...]:
    """p50 and p99 of a histogram, per ``by``."""
    grouped = f"sum by ({by}, le) (rate({metric}_bucket[{RATE}]))"
    return (
        q(f"histogram_quantile(0.5, {grouped})", f"p50 {legend}"),
        q(f"histogram_quantile(0.99, {grouped})", f"p99 {legend}"),
    )


def share(metric: str, part: str, whole: str, by: str) -> str:
    """The share of ``metric``'s rate matching ``part`` in that matching ``whole``, per
    ``by``: 0 (not "No data") while nothing matches ``part``."""
    of_part = f"sum by ({by}) (rate({metric}{{{part}}}[{RATE}]))"
    of_whole = (
        f"sum by ({by}) (rate({metric}{{{whole}}}[{RATE}]))"
        if whole
        else (f"sum by ({by}) (rate({metric}[{RATE}]))")
    )
    return f"({of_part} or 0 * {of_whole}) / {of_whole}"


def or_zero_per_projection(expr: str) -> str:
    """``expr`` per projection, or 0 for each projection the relay measures."""
    return f"({expr}) or (0 * max by (projection) (orders_stream_group_lag_events))"


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [
        {"color": "orange" if i < len(panel.thresholds) - 1 else "red", "value": value}
        for i, value in enumerate(panel.thresholds)
    ]
    if panel.unit == "percentunit" and panel.kind == "stat":  # a share: low is bad
        steps = [{"color": "red", "value": None}] + [
            {"color": "orange" if i < len(panel.thresholds) - 1 else "green", "value": value}
            for i, value in enumerate(panel.thresholds)
        ]
    body: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": PANEL_HEIGHT},
        "fieldConfig": {
            "defaults": {
                "unit": panel.unit,
                "thresholds": {"mode": "absolute", "steps": steps},
            },
            "overrides": [],
        },
        "targets": [
            {
                "refId": chr(ord("A") + index),
                "datasource": DATASOURCE,
                "expr": query.expr,
                "legendFormat": query.legend,
                "range": True,
            }
            for index, query in enumerate(panel.queries)
        ],
    }
    if panel.kind == "stat":
        body["options"] = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "area",
        }
    else:
        body["fieldConfig"]["defaults"]["custom"] = {"drawStyle": "line", "fillOpacity": 10}
        body["options"] = {
            "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    return body


def render(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (rows flattened, panels placed on the grid)."""
    panels: list[dict[str, Any]] = []
    y = 0
    for row in dashboard.rows:
        panels.append(
            {
                "id": len(panels) + 1,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": WIDTH, "h": 1},
                "panels": [],
            }
        )
        y += 1
        x = 0
        for panel in row.panels:
            if x + panel.width > WIDTH:
                x, y = 0, y + PANEL_HEIGHT
            panels.append(_panel(panel, len(panels) + 1, x, y))
            x += panel.width
        y += PANEL_HEIGHT
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "timezone": "utc",
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": []},
        "links": [],
        "panels": panels,
    }
