"""The ops page's action panels: open dead letters and rebuilds, and the one-line summary
that the page's live region announces.

Screen readers read a live region again whenever it changes. The page refreshes every few
seconds, so only this summary is live: it changes when something ops care about changes (a
new stuck order, a dead letter, a rebuild starting or ending), never because a clock ticked.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from orders_cqrs.bootstrap import Container
from orders_cqrs.failures.stores import StoreError

log = structlog.get_logger(__name__)
SHOWN_PER_PROJECTION = 50  # the page refreshes itself: a long list waits on a page of its own


async def dead_letter_panel(container: Container) -> list[dict[str, Any]] | None:
    """Per projection with open dead letters: the oldest ones and how many are open; None
    when PostgreSQL cannot say."""
    panel: list[dict[str, Any]] = []
    try:
        for name in container.projections:
            letters = await container.admin.dead_letters.list_for(name)
            if letters:
                shown = [letter.to_dict() for letter in letters[:SHOWN_PER_PROJECTION]]
                panel.append({"projection": name, "open": len(letters), "letters": shown})
    except (SQLAlchemyError, StoreError, OSError) as error:
        log.warning("ops_page_dead_letters_unavailable", error=str(error)[:300])
        return None
    return panel


def rebuild_panel(projections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each projection's last rebuild (from PostgreSQL, via the status rows), with its share
    done: the scan's progress, the only phase whose length is known in advance."""
    rows = []
    for status in projections:
        record = status.get("rebuild")
        share = None
        if record and record["total"]:
            share = min(1.0, record["scanned"] / record["total"])
        elif record and record["total"] == 0:
            share = 1.0
        rows.append({"name": status["name"], "rebuild": record, "share": share})
    return rows


def plural(count: int, word: str) -> str:
    """``1 dead letter``, ``2 dead letters``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def live_summary(view: dict[str, Any]) -> str:
    """What the live region says: stuck orders, open dead letters, rebuilds running."""
    parts = []
    grid = view.get("grid")
    if grid is not None:
        parts.append(f"{plural(grid['total'], 'stuck order')}")
    elif view.get("analytics_error"):
        parts.append("stuck orders unknown")
    letters = view.get("dead_letter_panel")
    if letters is None:
        parts.append("dead letters unknown")
    else:
        parts.append(f"{plural(sum(p['open'] for p in letters), 'open dead letter')}")
    running = [row["name"] for row in view.get("rebuild_panel", []) if _state(row) == "running"]
    if running:
        parts.append(f"rebuilding {', '.join(running)}")
    else:
        parts.append("no rebuild running")
    return " · ".join(parts)


def _state(row: dict[str, Any]) -> str | None:
    record = row.get("rebuild")
    return None if record is None else str(record["state"])


async def action_view(container: Container, projections: list[dict[str, Any]]) -> dict[str, Any]:
    """The panels' part of the live view (``projections`` is the page's status rows)."""
    return {
        "dead_letter_panel": await dead_letter_panel(container),
        "rebuild_panel": rebuild_panel(projections),
    }
