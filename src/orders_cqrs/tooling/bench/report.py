"""The one table: every figure beside its reference from the same run, and deltas to an old run.

Rows are derived from the results file, never kept separately, so ``--compare old.json``
rebuilds the old run's rows the same way and matches them by key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table."""

    key: str
    figure: str
    value: float
    unit: str
    reference: str = ""
    reference_value: float | None = None

    @property
    def ratio(self) -> float | None:
        """value ÷ reference, when there is one."""
        if self.reference_value:
            return self.value / self.reference_value
        return None


def _checkout_rows(points: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for point in points:
        c = point["connections"]
        http, pg = point["http"], point["pgbench"]
        rows.append(
            Row(
                f"checkout.c{c}.rate",
                f"checkout c={c}",
                http["rate"],
                "orders/s",
                "pgbench same SQL",
                pg["tps"],
            )
        )
        for p in ("p50", "p90", "p99"):
            rows.append(Row(f"checkout.c{c}.{p}", f"  latency {p}", http[f"{p}_ms"], "ms"))
        rows.append(
            Row(
                f"checkout.c{c}.non2xx",
                "  non-2xx / socket errors",
                http["non_2xx"] + http["socket_errors"],
                "responses",
            )
        )
        rows.append(
            Row(f"checkout.c{c}.cpu", "  API CPU per order", point["api_cpu_ms_per_order"], "ms")
        )
        store = point.get("event_store")
        if store is not None:
            rows.append(
                Row(
                    f"checkout.c{c}.es",
                    "  eventsourcing 1-event orders",
                    store["rate"],
                    "orders/s",
                    "pgbench same SQL",
                    pg["tps"],
                )
            )
    return rows


def _drain_row(
    key: str, figure: str, drain: dict[str, Any] | None, ref: str, floor: dict[str, Any] | None
) -> list[Row]:
    if drain is None:
        return []
    return [Row(key, figure, drain["rate"], "events/s", ref, floor["rate"] if floor else None)]


def rows(results: dict[str, Any]) -> list[Row]:
    """The table's rows, in order."""
    out = _checkout_rows(results.get("checkout", []))
    relay = results.get("relay") or {}
    out += _drain_row(
        "relay",
        "relay over backlog",
        relay.get("relay"),
        "claim+mark SQL alone",
        relay.get("floor"),
    )
    proj = results.get("projectors") or {}
    for name in ("summary", "search"):
        out += _drain_row(
            f"project.{name}",
            f"project {name}",
            proj.get(name),
            "XREADGROUP+XACK alone",
            proj.get("floor"),
        )
    analytics = proj.get("analytics")
    if analytics is not None:
        out.append(
            Row("project.analytics", "analytics chDB inserts", analytics["rate"], "events/s")
        )
    rebuild = results.get("rebuild") or {}
    for name in ("summary", "search"):
        out += _drain_row(
            f"rebuild.{name}",
            f"rebuild {name}",
            rebuild.get(name),
            "fenced outbox scan alone",
            rebuild.get("floor"),
        )
    fresh = results.get("freshness") or {}
    if fresh:
        out.append(
            Row(
                "fresh.rate",
                "freshness load (fixed rate)",
                fresh["rate_achieved"],
                "orders/s",
                "target: ½ max checkout",
                fresh["rate_target"],
            )
        )
    for model in ("summary", "search", "analytics"):
        stats = fresh.get(model)
        if not stats or not stats.get("n"):
            continue
        for p in ("p50", "p95", "p99"):
            out.append(
                Row(f"fresh.{model}.{p}", f"commit→visible {model} {p}", stats[p] * 1000, "ms")
            )
    return out


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render(current: list[Row], old: list[Row] | None = None) -> str:
    """The table as text (with a delta column when comparing)."""
    previous = {row.key: row for row in old or []}
    header = f"{'figure':34} {'value':>10} {'unit':9} {'reference':26} {'ref':>10} {'ratio':>6}"
    if old is not None:
        header += f" {'was':>10} {'delta':>7}"
    lines = [header, "-" * len(header)]
    for row in current:
        ref = _number(row.reference_value) if row.reference_value is not None else ""
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
        line = (
            f"{row.figure:34} {_number(row.value):>10} {row.unit:9} {row.reference:26}"
            f" {ref:>10} {ratio:>6}"
        )
        if old is not None:
            before = previous.get(row.key)
            if before is not None:
                delta = (row.value - before.value) / before.value * 100 if before.value else 0.0
                line += f" {_number(before.value):>10} {delta:+6.1f}%"
        lines.append(line)
    return "\n".join(lines)


def load(path: Path) -> dict[str, Any]:
    """A results file written by an earlier run."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def save(results: dict[str, Any], path: Path) -> None:
    """Write the results file."""
    path.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
