"""chDB work of ``make bench``, each in a process of its own (``python -m`` this module).

chDB opens one engine path per process and never lets go of it, so the bench process itself
never opens one: the insert benchmark (a throwaway directory) and the freshness read (the
directory the API process projected into, after that process stopped) each run here and
print one JSON line.

    python -m orders_cqrs.tooling.bench.chdb_jobs insert EVENTS BATCH_SIZE
    python -m orders_cqrs.tooling.bench.chdb_jobs freshness CHDB_DIR
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

from orders_cqrs.readmodels.analytics.session import ConnectSession

# ms between the event's commit and the insert that made it queryable, per event row
FRESHNESS_SQL = (
    "SELECT dateDiff('millisecond', occurred_at, projected_at) AS ms FROM order_events FINAL"
)


async def _insert(events: int, batch_size: int) -> dict[str, Any]:
    from orders_cqrs.tooling.bench.analytics import run_bench

    report = await run_bench(events, batch_size)
    return {"events": report.events, "seconds": report.seconds, "rate": report.rate}


async def _freshness(path: str) -> dict[str, Any]:
    session = ConnectSession(f"chdb://{path}")
    try:
        rows = await session.query(FRESHNESS_SQL)
    finally:
        await session.close()
    return {"lags": [int(row["ms"]) / 1000 for row in rows]}


def run_job(*args: str, timeout: float = 600) -> dict[str, Any]:
    """Run a job in a fresh interpreter; its JSON answer."""
    result = subprocess.run(  # noqa: S603 - argv built here, no shell
        [sys.executable, "-m", "orders_cqrs.tooling.bench.chdb_jobs", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    )
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def main(argv: list[str]) -> None:
    """Dispatch one job and print its JSON."""
    if argv[:1] == ["insert"]:
        answer = asyncio.run(_insert(int(argv[1]), int(argv[2])))
    elif argv[:1] == ["freshness"]:
        answer = asyncio.run(_freshness(argv[1]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1:])
