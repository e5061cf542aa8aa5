"""The one backoff: delays stay in their range, a long outage cannot overflow them, a stop
ends the wait at once."""

from __future__ import annotations

import asyncio
import time

from orders_cqrs.failures.backoff import doubling, full_jitter, pause


def test_doubling_starts_at_the_base_and_stops_at_the_cap() -> None:
    assert [doubling(n, base=0.5, cap=30.0) for n in range(8)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0
    ]  # fmt: skip


def test_full_jitter_stays_between_zero_and_the_doubled_bound() -> None:
    for failures in range(12):
        bound = min(5.0, 0.1 * 2**failures)
        delays = [full_jitter(failures, base=0.1, cap=5.0) for _ in range(200)]
        assert all(0 <= delay <= bound for delay in delays)
        assert max(delays) > bound / 2  # it is spread over the range, not pinned to 0


def test_a_count_kept_through_a_long_outage_still_gives_the_cap() -> None:
    assert doubling(100_000, base=0.1, cap=5.0) == 5.0
    assert 0 <= full_jitter(100_000, base=0.1, cap=5.0) <= 5.0


async def test_a_stop_ends_the_pause_at_once() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    await pause(stop, 30.0)
    assert time.monotonic() - started < 5


async def test_a_wake_ends_the_pause_and_the_timeout_ends_it_otherwise() -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, wake.set)
    started = time.monotonic()
    await pause(stop, 30.0, wake=wake)
    assert time.monotonic() - started < 5
    started = time.monotonic()
    await pause(stop, 0.1)
    assert time.monotonic() - started >= 0.09
