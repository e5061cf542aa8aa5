"""Durations in query strings: what the pattern admits is exactly what the parser reads."""

from __future__ import annotations

import re

import pytest

from orders_cqrs.api.durations import DURATION_PATTERN, duration_seconds


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("0", 0),
        ("900", 900),
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1d", 86_400),
        ("PT15M", 900),
        ("PT1H30M", 5400),
        ("PT45S", 45),
        ("P1D", 86_400),
        ("P1DT12H", 129_600),
        ("PT1H0M5S", 3605),
    ],
)
def test_each_admitted_form_reads_as_its_seconds(written: str, seconds: int) -> None:
    assert re.fullmatch(DURATION_PATTERN, written)
    assert duration_seconds(written) == seconds


@pytest.mark.parametrize(
    "written",
    ["", "-1", "1.5h", "15x", "m", "P", "PT", "P1H", "PT1D", "P1DT", "1234567890", "15 m"],
)
def test_anything_else_is_refused_by_the_pattern(written: str) -> None:
    assert not re.fullmatch(DURATION_PATTERN, written)
