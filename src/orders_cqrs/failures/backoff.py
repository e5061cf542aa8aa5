"""How long to wait before trying a store again, and a wait that a stop ends early.

Every retry loop of the service uses these: the relay and the projection engine while Redis,
PostgreSQL or a read store is down (full jitter), the workers while they wait for ClickHouse
or OpenSearch at start-up (plain doubling), the engine between attempts at a poison event.

Hand-written, not tenacity: none of these loops retries one call a bounded number of times.
They retry until the process is told to stop, and the relay's and the engine's run loops
count failures across several ``except`` clauses and reset the count on success, so what
they need is a delay for a count they keep, not a decorator or an ``AsyncRetrying`` around
one call (which would also try once more after the stop event is set, and end in
``RetryError`` where these loops simply return). That leaves a line of arithmetic and a
stop-aware sleep, which read better here than the library's retry-state machinery.
"""

from __future__ import annotations

import asyncio
import math
import random

# 2**64 times any base already exceeds every cap; without this bound a count kept through a
# long outage would reach 2**1024 and the float conversion would raise OverflowError.
_MAX_EXPONENT = 64


def doubling(failures: int, *, base: float, cap: float = math.inf) -> float:
    """``base · 2**failures``, at most ``cap``: each failure doubles the wait."""
    return min(cap, base * 2.0 ** min(failures, _MAX_EXPONENT))


def full_jitter(failures: int, *, base: float, cap: float) -> float:
    """A delay drawn uniformly from ``[0, doubling(failures)]`` ("full jitter"): processes that
    lost the same store at the same moment do not all come back at the same moment."""
    return random.uniform(0, doubling(failures, base=base, cap=cap))


async def pause(stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None) -> None:
    """Sleep up to ``seconds``; ``stop`` (and ``wake``, when given) end it early."""
    waits = [asyncio.create_task(stop.wait())]
    if wake is not None:
        waits.append(asyncio.create_task(wake.wait()))
    _, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
