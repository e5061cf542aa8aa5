"""Downstream throughput: relay over an outbox backlog, projectors over a stream backlog, rebuilds.

Each is timed on the real process, beside a floor measured with the same statements alone:

* relay: ``orders-cqrs relay`` draining N unpublished rows, beside the relay's own claim and
  mark SQL (imported from ``db/outbox.py``, so it follows the code) run in a loop
  with nothing published;
* projectors: ``orders-cqrs project <name>`` from start until its consumer group has no lag
  and nothing pending, beside a consumer that reads and acknowledges the same entries with
  the same batch size and applies nothing;
* rebuilds: the whole ``orders-cqrs rebuild <name>`` command, beside the rebuild's own fenced
  outbox scan (the statements of ``db/event_log.py``) alone.

Process start-up (imports, connections) is excluded where a figure is a rate: the clock
starts when the process first makes progress; the start-up seconds are kept in the results.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
import redis
from sqlalchemy import create_engine

from orders_cqrs.db.event_log import FENCED_PAGE, SNAPSHOT
from orders_cqrs.db.outbox import CLAIM_SQL
from orders_cqrs.readmodels.rebuild import SCAN_BATCH
from orders_cqrs.tooling.bench.processes import Service


@dataclass(frozen=True, slots=True)
class Drain:
    """Work done by a process or its floor: events, seconds, and start-up before the first."""

    events: int
    seconds: float
    startup_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        """For the results file."""
        return {**asdict(self), "rate": self.rate}


def unpublished(dsn: str) -> int:
    """Outbox rows the relay has not published yet."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()
    return int(row[0]) if row else 0


def outbox_size(dsn: str) -> int:
    """Every row of the event log (what a rebuild reads)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM outbox").fetchone()
    return int(row[0]) if row else 0


def _watch(done: Any, progress: Any, timeout: float) -> tuple[float, float]:
    """Poll until ``done()``; (start-up seconds before ``progress()`` was first true, rest)."""
    started = time.monotonic()
    first: float | None = None
    while True:
        now = time.monotonic()
        if first is None and progress():
            first = now
        if done():
            first = first if first is not None else now
            return first - started, now - first
        if now - started > timeout:
            raise TimeoutError(f"not drained after {timeout:.0f} s")
        time.sleep(0.02)


# ---------------------------------------------------------------------------------- relay


def relay_floor(dsn: str, batch_size: int) -> Drain:
    """The relay's claim-and-mark statement alone over the current backlog, then undone."""
    marked: list[int] = []
    with psycopg.connect(dsn) as conn:
        started = time.perf_counter()
        while True:
            with conn.transaction():
                cursor = conn.execute(CLAIM_SQL, (batch_size,))
                rows = cursor.fetchall()
                if not rows:
                    break
                # by name: the claim's column order belongs to the relay
                column = [c.name for c in cursor.description or ()].index("position")
                positions = [int(row[column]) for row in rows]
            marked.extend(positions)
        seconds = time.perf_counter() - started
        with conn.transaction():
            conn.execute(
                "UPDATE outbox SET published_at = NULL WHERE position = ANY(%s)", (marked,)
            )
    return Drain(len(marked), seconds)


def relay_drain(env: dict[str, str], dsn: str, timeout: float) -> Drain:
    """Start ``orders-cqrs relay`` on the backlog; time until no row is unpublished."""
    backlog = unpublished(dsn)
    relay = Service(["relay"], env).start()
    try:
        startup, seconds = _watch(
            lambda: unpublished(dsn) == 0, lambda: unpublished(dsn) < backlog, timeout
        )
    finally:
        relay.stop()
    return Drain(backlog, seconds, startup)


# ----------------------------------------------------------------------------- projectors


def group_state(client: redis.Redis, stream: str, group: str) -> dict[str, Any] | None:
    """XINFO GROUPS entry of ``group`` (name, lag, pending, entries-read), None if absent."""
    try:
        groups: list[dict[str, Any]] = client.xinfo_groups(stream)
    except redis.ResponseError:
        return None
    return next((g for g in groups if g["name"] == group), None)


def _read(client: redis.Redis, stream: str, group: str) -> int:
    state = group_state(client, stream, group)
    return int(state.get("entries-read") or 0) if state else 0


def caught_up(client: redis.Redis, stream: str, group: str) -> bool:
    """Has ``group`` been delivered the stream's last entry and acknowledged everything?"""
    state = group_state(client, stream, group)
    if state is None:
        return False
    last = client.xinfo_stream(stream)["last-generated-id"]
    return bool(state["pending"] == 0 and state["last-delivered-id"] == last)


def projector_drain(
    env: dict[str, str], client: redis.Redis, stream: str, name: str, timeout: float
) -> Drain:
    """Start ``orders-cqrs project <name>``; time until its group has read and acked it all."""
    if group_state(client, stream, name) is None:
        # A projector whose group is missing backfills from the outbox and then follows the
        # stream from its end: create the group at the start, so the stream backlog is what
        # it reads and what is timed.
        client.xgroup_create(stream, name, id="0")
    before = _read(client, stream, name)
    worker = Service(["project", name], env).start()
    try:
        startup, seconds = _watch(
            lambda: caught_up(client, stream, name),
            lambda: _read(client, stream, name) > before,
            timeout,
        )
    finally:
        worker.stop()
    return Drain(_read(client, stream, name) - before, seconds, startup)


def consume_floor(client: redis.Redis, stream: str, batch_size: int) -> Drain:
    """Read and acknowledge the whole stream in projector-sized batches, applying nothing."""
    group = "bench-floor"
    client.xgroup_create(stream, group, id="0")
    events = 0
    try:
        started = time.perf_counter()
        while True:
            reply: Any = client.xreadgroup(group, "floor", {stream: ">"}, count=batch_size)
            entries: list[tuple[str, Any]] = reply[0][1] if reply else []
            if not entries:
                break
            client.xack(stream, group, *[entry_id for entry_id, _ in entries])
            events += len(entries)
        seconds = time.perf_counter() - started
    finally:
        client.xgroup_destroy(stream, group)
    return Drain(events, seconds)


# ------------------------------------------------------------------------------- rebuilds


def rebuild_run(env: dict[str, str], dsn: str, name: str, timeout: float) -> Drain:
    """The whole ``orders-cqrs rebuild <name>`` command, timed; events = the outbox size."""
    events = outbox_size(dsn)
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - argv built here, no shell
        [sys.executable, "-m", "orders_cqrs.entrypoints.cli", "rebuild", name],
        env=env,
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    return Drain(events, time.perf_counter() - started)


def scan_floor(database_url: str) -> Drain:
    """The rebuild's fenced outbox scan alone: every page, nothing applied."""
    engine = create_engine(database_url)
    events = 0
    try:
        with engine.connect() as conn:
            snap = conn.execute(SNAPSHOT).scalar_one()
            started = time.perf_counter()
            after = 0
            while True:
                rows = conn.execute(
                    FENCED_PAGE, {"after": after, "snap": snap, "n": SCAN_BATCH}
                ).all()
                if not rows:
                    break
                events += len(rows)
                after = int(rows[-1]._mapping["position"])
            seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return Drain(events, seconds)
