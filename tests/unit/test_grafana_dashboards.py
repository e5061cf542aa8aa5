"""The Grafana dashboards in deploy/grafana/dashboards/ are what the code says, are dashboard JSON
Grafana provisions, query the provisioned datasource, and name no metric that does not exist.

Grafana does not run here: what a dashboard needs is checked from its JSON model, and every
query runs against a real Prometheus in tests/chaos/test_dashboards_live.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from orders_cqrs.observability import metrics
from orders_cqrs.observability.grafana_dashboards import dashboard_files
from tests.helpers.stores import ROOT

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
}
# PromQL words that are not metric names; ``up`` is Prometheus' own per-target series.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
BUILT_IN_SERIES = {"up"}


def dashboards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in DASHBOARD_FILES]


def query_panels() -> Iterator[tuple[str, dict[str, Any]]]:
    for dashboard in dashboards():
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                yield f"{dashboard['uid']}: {panel['title']}", panel


def exported_names() -> set[str]:
    """Every series name the service's metric objects export (from the objects themselves)."""
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                names.update(family.name + s for s in SUFFIXES.get(family.type, ("",)))
    return names


def recorded_names() -> set[str]:
    return {
        rule["record"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def series_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions,
    keywords, label names (inside ``{}`` or ``by/on (...)``) or strings."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # label values
    text = re.sub(r"\{[^}]*\}", "", text)  # matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range windows
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if not rest.startswith("(") and match.group(0).lower() not in KEYWORDS:
            names.add(match.group(0))
    return names


def test_the_dashboard_files_are_what_the_code_renders() -> None:
    rendered = dashboard_files(GRAFANA / "dashboards")
    assert set(rendered) == set(DASHBOARD_FILES), (
        "run `python -m orders_cqrs.observability.grafana_dashboards`"
    )
    for path, text in rendered.items():
        assert path.read_text() == text, f"{path.name} is stale: regenerate it"


def test_every_dashboard_has_what_grafana_needs_and_a_unique_uid() -> None:
    found = dashboards()
    assert len(found) >= 2
    uids = [d["uid"] for d in found]
    assert len(set(uids)) == len(uids)
    for dashboard in found:
        assert dashboard["title"] and re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
        assert 36 <= dashboard["schemaVersion"] <= 41
        assert dashboard["panels"]
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(set(ids)) == len(ids)


def test_panels_sit_on_the_grid_without_overlapping() -> None:
    for dashboard in dashboards():
        taken: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            grid = panel["gridPos"]
            assert {"x", "y", "w", "h"} <= set(grid), panel["title"]
            assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24
            cells = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & taken, f"{panel['title']} overlaps another panel"
            taken |= cells


def test_every_query_reads_the_provisioned_prometheus_datasource() -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    uids = {source["uid"] for source in provisioned["datasources"]}
    for name, panel in query_panels():
        assert panel["type"] in {"timeseries", "stat"}, name
        assert panel["datasource"]["uid"] in uids, name
        assert panel["targets"], name
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"], name
            assert target["datasource"] == {"type": "prometheus", "uid": panel["datasource"]["uid"]}


@pytest.mark.parametrize(
    ("name", "panel"), list(query_panels()), ids=[n for n, _ in query_panels()]
)
def test_no_dead_metric_names(name: str, panel: dict[str, Any]) -> None:
    known = exported_names() | recorded_names() | BUILT_IN_SERIES
    used = {series for t in panel["targets"] for series in series_names(t["expr"])}
    assert used, f"{name} selects no series"
    assert used - known == set(), f"{name}: neither metrics.py nor the rules export these"


def test_the_name_reader_finds_series_and_skips_functions_labels_and_keywords() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (route, le) (rate(a_seconds_bucket{status="5xx",'
        ' x=~"a|b"}[5m]))) / on (projection) b:rule or (0 * max by (p) (c_events)) and time()'
    )
    assert series_names(expr) == {"a_seconds_bucket", "b:rule", "c_events"}
    assert "orders_commands_total" in exported_names()
    assert "orders_projection_freshness_seconds_bucket" in exported_names()


def test_the_provisioning_points_grafana_at_the_prometheus_service_and_the_dashboards() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/orders.yml").read_text())
    (provider,) = providers["providers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in compose["volumes"]}
    assert Path(mounted[provider["options"]["path"]]) == Path("./deploy/grafana/dashboards")
