"""Stuck orders as a region × provider grid, each cell coloured by the age of its oldest order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Upper bounds (seconds) of the colour levels 1…4; level 5 is anything older.
AGE_LEVELS: tuple[tuple[float, str], ...] = (
    (15 * 60, "under 15 min"),
    (3600, "under 1 h"),
    (6 * 3600, "under 6 h"),
    (48 * 3600, "under 48 h"),
)


def age_level(seconds: float | None) -> int:
    """0 for an empty cell, then 1 (young) … 5 (older than every bound)."""
    if seconds is None:
        return 0
    for level, (bound, _) in enumerate(AGE_LEVELS, start=1):
        if seconds < bound:
            return level
    return len(AGE_LEVELS) + 1


def legend() -> list[tuple[int, str]]:
    """(level, words) for the grid's colour key."""
    return [(level, words) for level, (_, words) in enumerate(AGE_LEVELS, 1)] + [
        (len(AGE_LEVELS) + 1, "48 h or more")
    ]


def stuck_grid(stuck: dict[str, Any], known_providers: Sequence[str]) -> dict[str, Any]:
    """Rows = regions (most stuck first), columns = providers (every known one, then others),
    cells = count, oldest age and colour level; totals per row and column."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for group in stuck["groups"]:
        cells[(group["region"], group["provider"])] = {
            "orders": group["orders"],
            "oldest": group["oldest_age_seconds"],
            "level": age_level(group["oldest_age_seconds"]),
        }
    providers = list(known_providers) + sorted({p for _, p in cells if p not in known_providers})
    by_region: dict[str, int] = {}
    for (region, _), cell in cells.items():
        by_region[region] = by_region.get(region, 0) + cell["orders"]
    regions = sorted(by_region, key=lambda r: (-by_region[r], r))
    empty = {"orders": 0, "oldest": None, "level": 0}
    return {
        "providers": providers,
        "rows": [
            {
                "region": region,
                "cells": [cells.get((region, p), empty) for p in providers],
                "total": by_region[region],
            }
            for region in regions
        ],
        "column_totals": [
            sum(cell["orders"] for (_, p), cell in cells.items() if p == provider)
            for provider in providers
        ],
        "total": stuck["total"],
        "oldest": stuck["oldest_age_seconds"],
        "legend": legend(),
    }
