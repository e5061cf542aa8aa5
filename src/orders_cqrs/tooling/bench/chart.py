"""The results as one PNG: checkout throughput against concurrency, freshness percentiles.

Matplotlib with the Agg backend (no display needed), imported only here, only when a chart is
written: the service itself never loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_chart(results: dict[str, Any], path: Path) -> Path:
    """Two panels: orders/s vs connections (HTTP, pgbench, eventsourcing); freshness in ms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    points = results.get("checkout", [])
    connections = [p["connections"] for p in points]
    left.plot(connections, [p["http"]["rate"] for p in points], "o-", label="HTTP checkout (2xx)")
    left.plot(connections, [p["pgbench"]["tps"] for p in points], "s--", label="pgbench, same SQL")
    stores = [p for p in points if p.get("event_store")]
    if stores:
        left.plot(
            [p["connections"] for p in stores],
            [p["event_store"]["rate"] for p in stores],
            "^:",
            label="eventsourcing, 1 event",
        )
    left.set_xlabel("concurrent connections / clients")
    left.set_ylabel("orders per second")
    left.set_xscale("log", base=2)
    left.set_xticks(connections, [str(c) for c in connections])
    left.set_ylim(bottom=0)
    left.set_title("Checkout throughput")
    left.legend()
    left.grid(alpha=0.3)

    fresh = results.get("freshness") or {}
    models = [m for m in ("summary", "search", "analytics") if (fresh.get(m) or {}).get("n")]
    width = 0.25
    for offset, p in enumerate(("p50", "p95", "p99")):
        right.bar(
            [i + (offset - 1) * width for i in range(len(models))],
            [fresh[m][p] * 1000 for m in models],
            width,
            label=p,
        )
    right.set_xticks(range(len(models)), models)
    right.set_ylabel("commit → visible, ms")
    rate = fresh.get("rate_achieved", 0.0)
    right.set_title(f"Freshness at {rate:.0f} orders/s")
    right.legend()
    right.grid(axis="y", alpha=0.3)

    mode = results.get("meta", {}).get("mode", "")
    figure.suptitle(f"orders-cqrs bench ({mode}) — ratios hold within one run, not across machines")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
