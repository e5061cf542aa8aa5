"""Worker chaos: SIGKILL and restart relay and projector processes at random moments."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import redis

from tests.helpers.processes import Worker
from tests.helpers.stream_checks import consumer_of, consumer_pending, stream_client


@dataclass
class Supervised:
    """A worker role (relay or projector) whose current process may be killed and replaced."""

    name: str
    start: Callable[[], Worker]
    current: Worker | None = None
    kills: int = 0

    def launch(self) -> Supervised:
        """Start the first process."""
        self.current = self.start()
        return self

    @property
    def is_projector(self) -> bool:
        """Whether this role consumes the stream (else it is a relay)."""
        assert self.current is not None
        return "project" in self.current.args

    def kill9(self) -> Worker:
        """SIGKILL the running process; the dead one is returned."""
        assert self.current is not None
        self.current.kill9()
        self.kills += 1
        return self.current

    def restart(self) -> Worker:
        """A new process in the dead one's place."""
        self.current = self.start()
        return self.current

    def kill9_and_restart(self) -> Worker:
        """SIGKILL, then a new process at once."""
        self.kill9()
        return self.restart()


@dataclass
class ChaosLog:
    """What the chaos monkey did, for the assertion messages."""

    seed: int
    kills: Counter[str] = field(default_factory=Counter)
    caught_in_hand: Counter[str] = field(default_factory=Counter)  # kills mid-batch, observed
    left_pending: int = 0  # entries killed projectors held unacknowledged when they died
    events: list[str] = field(default_factory=list)


# A relay's claim takes FOR UPDATE row locks, hence a RowShareLock on ``outbox`` until the
# batch is marked and committed; nothing else in the service takes that mode on that table.
_RELAY_IN_TRANSACTION = """
SELECT count(*) FROM pg_locks l
  JOIN pg_class c ON c.oid = l.relation
 WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND c.relname = 'outbox' AND l.mode = 'RowShareLock'
"""


def relays_in_transaction(pg: psycopg.Connection[Any]) -> int:
    """How many relay claim transactions are open right now."""
    row = pg.execute(_RELAY_IN_TRANSACTION).fetchone()
    return int(row[0]) if row is not None else 0


class ChaosMonkey:
    """A thread that SIGKILLs and restarts workers at random moments until stopped.

    Half of the kills fall at a plain random moment. For the other half the monkey, once the
    random delay is over, watches for up to ``watch_seconds`` for the victim to hold work in
    hand (a relay inside its claim transaction, a projector with entries delivered and not
    yet acknowledged) and kills it right then: an idle worker dies cleanly, so random moments
    alone would rarely test the mid-batch crash the design worries about. Each role is killed
    at most ``max_kills`` times, so that restarts do not eat the machine the load runs on.
    """

    def __init__(
        self,
        roles: list[Supervised],
        database_dsn: str,
        *,
        seed: int,
        gap: tuple[float, float] = (1.0, 3.0),
        downtime: tuple[float, float] = (0.0, 0.8),
        watch_seconds: float = 1.5,
        max_kills: int = 6,
    ) -> None:
        self.roles = roles
        self.rng = random.Random(seed)
        self.gap = gap
        self.downtime = downtime
        self.watch_seconds = watch_seconds
        self.max_kills = max_kills  # per role: every restart costs a Python start-up in CPU
        self.log = ChaosLog(seed)
        self._dsn = database_dsn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-monkey", daemon=True)
        self._error: BaseException | None = None

    def __enter__(self) -> ChaosMonkey:
        self._thread.start()
        return self

    def has_killed_each(self, times: int) -> bool:
        """Whether every role has been killed ``times`` times (or the monkey died trying)."""
        if not self._thread.is_alive():
            return True  # its error surfaces when the ``with`` block ends
        return all(self.log.kills[role.name] >= times for role in self.roles)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        started = time.monotonic()
        try:
            with (
                psycopg.connect(self._dsn, autocommit=True) as pg,
                stream_client() as client,
            ):
                while not self._stop.wait(self.rng.uniform(*self.gap)):
                    if min(role.kills for role in self.roles) >= self.max_kills:
                        continue
                    self.log.events.append(
                        f"{time.monotonic() - started:.1f}s " + self._strike(pg, client)
                    )
        except BaseException as error:  # surfaced by __exit__
            self._error = error

    def _strike(self, pg: psycopg.Connection[Any], client: redis.Redis) -> str:
        # The role with fewer kills goes next (ties broken at random): both get hit evenly.
        fewest = min(role.kills for role in self.roles)
        role = self.rng.choice([r for r in self.roles if r.kills == fewest])
        victim = role.current
        assert victim is not None
        consumer = consumer_of(victim) if role.is_projector else ""

        def in_hand() -> bool:
            if role.is_projector:
                return consumer_pending(client, consumer) > 0
            return relays_in_transaction(pg) > 0

        watched = self.rng.random() < 0.5
        deadline = time.monotonic() + (self.watch_seconds if watched else 0)
        while watched and not in_hand() and time.monotonic() < deadline:
            time.sleep(0.003)
        caught = in_hand()
        role.kill9()
        held = consumer_pending(client, consumer) if role.is_projector else 0
        self.log.kills[role.name] += 1
        self.log.caught_in_hand[role.name] += caught
        self.log.left_pending += held
        time.sleep(self.rng.uniform(*self.downtime))
        role.restart()
        detail = f", {held} left pending" if role.is_projector else ""
        return f"kill -9 {role.name} ({'mid-batch' if caught else 'idle'}{detail})"


class RelayOverlapSampler:
    """A thread that samples how many relays hold a claim at once; ``peak`` is the most seen."""

    def __init__(self, database_dsn: str, every: float = 0.003) -> None:
        self.peak = 0
        self.samples = 0
        self._dsn = database_dsn
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay-sampler", daemon=True)

    def __enter__(self) -> RelayOverlapSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as pg:
            while not self._stop.wait(self._every):
                self.peak = max(self.peak, relays_in_transaction(pg))
                self.samples += 1
