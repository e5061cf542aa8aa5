"""The ops page's pure pieces: the live summary screen readers hear, and a grid cell's
drill-down picked out of the dashboard's groups."""

from __future__ import annotations

from typing import Any

from orders_cqrs.web.ops_drill import cell_orders
from orders_cqrs.web.ops_panels import live_summary, rebuild_panel


def _view(stuck: int | None, letters: list[int] | None, rebuilding: str | None) -> dict[str, Any]:
    projections = [
        {"name": "summary", "rebuild": {"state": "running", "total": 10, "scanned": 5}}
        if rebuilding == "summary"
        else {"name": "summary", "rebuild": None},
        {"name": "search", "rebuild": {"state": "done", "total": 4, "scanned": 4}},
    ]
    return {
        "grid": None if stuck is None else {"total": stuck},
        "analytics_error": None if stuck is not None else "down",
        "dead_letter_panel": None
        if letters is None
        else [{"projection": f"p{n}", "open": count} for n, count in enumerate(letters)],
        "rebuild_panel": rebuild_panel(projections),
    }


def test_the_live_summary_names_what_changed_and_nothing_that_ticks() -> None:
    assert live_summary(_view(1, [], None)) == (
        "1 stuck order · 0 open dead letters · no rebuild running"
    )
    assert live_summary(_view(8, [1, 2], "summary")) == (
        "8 stuck orders · 3 open dead letters · rebuilding summary"
    )
    assert live_summary(_view(None, None, None)) == (
        "stuck orders unknown · dead letters unknown · no rebuild running"
    )


def test_a_running_rebuild_reports_the_share_of_its_scan() -> None:
    rows = {row["name"]: row for row in rebuild_panel(_view(0, [], "summary")["rebuild_panel"])}
    assert rows["summary"]["share"] == 0.5
    assert rows["search"]["share"] == 1.0


def test_a_cell_lists_only_its_own_orders_oldest_first_across_states() -> None:
    stuck = {
        "groups": [
            {
                "region": "Berlin",
                "provider": "card",
                "status": "PENDING_PAYMENT",
                "orders_oldest_first": [{"order_id": "a", "age_seconds": 30.0}],
            },
            {
                "region": "Berlin",
                "provider": "wallet",
                "status": "PENDING_PAYMENT",
                "orders_oldest_first": [{"order_id": "x", "age_seconds": 99.0}],
            },
            {
                "region": "Berlin",
                "provider": "card",
                "status": "AUTHORIZED",
                "orders_oldest_first": [
                    {"order_id": "b", "age_seconds": 60.0},
                    {"order_id": "c", "age_seconds": 5.0},
                ],
            },
        ]
    }
    listed = cell_orders(stuck, "Berlin", "card")
    assert [(o["order_id"], o["status"]) for o in listed] == [
        ("b", "AUTHORIZED"),
        ("a", "PENDING_PAYMENT"),
        ("c", "AUTHORIZED"),
    ]
    assert cell_orders(stuck, "Madrid", "card") == []
