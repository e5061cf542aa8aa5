"""The ops page's lag chart draws one line per projection over the hour, breaks a line where
Prometheus had no value instead of drawing across the gap, escapes what it prints, and
``ORDERS_PROMETHEUS_URL`` accepts an HTTP URL or nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from orders_cqrs.config import Settings
from orders_cqrs.web.ops_lag import STEP_SECONDS, lag_chart

END = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
START = END - timedelta(hours=1)


def minutes(*values: float, first: int = 0) -> list[tuple[datetime, float]]:
    return [(START + timedelta(minutes=first + i), v) for i, v in enumerate(values)]


def test_one_line_per_projection_with_its_latest_value_in_the_legend() -> None:
    svg = str(
        lag_chart(
            "events",
            "Lag (events)",
            {"summary": minutes(0, 3, 40), "search": minutes(1, 1), "analytics": minutes(7)},
            START,
            END,
            "",
        )
    )
    found = dict(re.findall(r'data-projection="(\w+)" data-points="(\d+)"', svg))
    assert found == {"analytics": "1", "search": "2", "summary": "3"}
    assert "summary · 40</text>" in svg
    assert svg.count("<path ") == 2 and svg.count("<circle ") == 1  # a lone point is a dot
    assert ">50</text>" in svg  # the axis ends at the next round number above the maximum


def test_a_projection_has_the_same_colour_on_every_chart() -> None:
    alone = str(lag_chart("seconds", "Age", {"summary": minutes(1, 2)}, START, END, "s"))
    among = str(
        lag_chart(
            "events", "Lag", {"analytics": minutes(1), "summary": minutes(1, 2)}, START, END, ""
        )
    )
    stroke = re.compile(r'data-projection="summary".*?stroke="(#\w+)"', re.S)
    first, second = stroke.search(alone), stroke.search(among)
    assert first and second and first.group(1) == second.group(1)


def test_a_gap_in_the_data_breaks_the_line() -> None:
    points = minutes(1, 2, 3) + minutes(4, 5, first=10)
    assert points[3][0] - points[2][0] > timedelta(seconds=1.5 * STEP_SECONDS)
    svg = str(lag_chart("events", "Lag", {"summary": points}, START, END, ""))
    paths = re.findall(r'<path d="([^"]+)"', svg)
    assert [p.count("L") for p in paths] == [2, 1], "one line per run of consecutive points"


def test_names_and_titles_are_escaped() -> None:
    svg = str(lag_chart("seconds", "<b>", {"<script>": minutes(1.5, 2.25)}, START, END, "s"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    assert "2.2 s" in svg or "2.3 s" in svg


@pytest.mark.parametrize("url", ["", "http://127.0.0.1:9090", "https://prom.example/prom/"])
def test_the_prometheus_url_is_http_or_off(url: str) -> None:
    assert Settings(prometheus_url=url).prometheus_url == url.rstrip("/")


@pytest.mark.parametrize("url", ["127.0.0.1:9090", "ftp://x", "http://"])
def test_a_prometheus_url_that_is_no_http_url_is_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ValidationError, match="ORDERS_PROMETHEUS_URL"):
        Settings(prometheus_url=url)
