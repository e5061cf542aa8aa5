"""Around ``orders-cqrs bench``'s run: set up, print the table, write the files, clean up."""

from __future__ import annotations

import sys
from pathlib import Path

from orders_cqrs.config import get_settings
from orders_cqrs.tooling.bench import report
from orders_cqrs.tooling.bench.chart import write_chart
from orders_cqrs.tooling.bench.environment import BenchEnv
from orders_cqrs.tooling.bench.runner import FULL, SHORT, Bench, missing_tools


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_and_report(
    *,
    short: bool,
    out: Path,
    compare: Path | None,
    keep: bool,
    database: str,
    redis_db: int,
    stream: str,
    port: int,
) -> int:
    """Run every phase and report; the exit code (0 when every phase ran)."""
    missing = missing_tools()
    if missing:
        _say(f"missing: {', '.join(missing)} (make bench installs them with apt-get)")
        return 2
    env = BenchEnv(
        get_settings(), database=database, redis_db=redis_db, stream=stream, api_port=port
    )
    env.keep = keep
    run = Bench(env, SHORT if short else FULL, _say)
    failed: BaseException | None = None
    try:
        results = run.run()
    except Exception as error:  # report what was measured before the failure
        failed = error
        results = run.results
        results["notes"].append(f"failed: {type(error).__name__}: {error}")
    finally:
        env.drop()
        _say(
            f"kept {env.database}, Redis DB {env.redis_db}, {env.scratch}"
            if keep
            else f"dropped {env.database}, flushed Redis DB {env.redis_db}, removed scratch files"
        )
    out.mkdir(parents=True, exist_ok=True)
    report.save(results, out / "results.json")
    chart = write_chart(results, out / "results.png")
    old = report.rows(report.load(compare)) if compare is not None else None
    print(report.render(report.rows(results), old))
    for note in results.get("notes", []):
        print(f"note: {note}")
    print(f"{results['meta'].get('seconds', 0):.0f} s; results: {out / 'results.json'}, {chart}")
    if failed is not None:
        _say(f"bench failed: {failed}")
        return 1
    return 0
