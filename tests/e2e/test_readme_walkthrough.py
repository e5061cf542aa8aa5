"""The README's walk-through is runnable as-is: its shell block, run by bash against a live API
with the relay and projectors behind it, succeeds step by step and leaves the orders it says."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from tests.helpers.processes import ApiServer, Worker
from tests.helpers.search import reset_search_state, wait_for_support_index

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    """The first ``sh`` block after the README's "Walk-through" heading."""
    text = README.read_text()
    section = text.split("## Walk-through", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the README's walk-through has no sh block"
    return block.group(1)


def test_the_readme_walkthrough_runs_as_written(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
) -> None:
    reset_search_state()
    api = start_api()
    start_worker("relay")
    start_worker("project", "summary")
    wait_for_support_index(start_worker("project", "search"))

    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough()],
        env={"API": api.url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert ran.returncode == 0, f"stdout:\n{ran.stdout}\nstderr:\n{ran.stderr}"
    assert "idempotent-replayed: true" in ran.stdout.lower()
    orders = dict(db.execute("SELECT status, count(*) FROM orders GROUP BY status").fetchall())
    assert orders == {"DELIVERED": 1, "CANCELLED": 1}
    refunded = db.execute("SELECT sum(amount) FROM refunds").fetchone()
    assert refunded == (1000,)
