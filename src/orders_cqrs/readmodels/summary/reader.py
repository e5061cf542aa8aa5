"""Reads of the Redis order summary, with bounded waits for ``min_version``."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from orders_cqrs.readmodels.freshness import Freshness, NotYetProjected
from orders_cqrs.readmodels.summary.keys import ACTIVE_KEY, DEFAULT_NAMESPACE, LUA_KEYS

# Resolving the namespace and reading the hash in one script means a reader never mixes
# the old and the new namespace while a rebuild flips ``summary:active``.
_GET_ORDER = (
    LUA_KEYS
    + """
local ns = redis.call('GET', KEYS[1]) or ARGV[2]
return redis.call('HMGET', order_key(ns, ARGV[1]),
                  'source_version', 'last_event_id', 'projected_at', 'doc', 'committed_at')
"""
)
# A page of a customer's orders, newest first: by placement time (the sorted set's score),
# then by order id (Redis orders equal scores by member). ARGV: customer id, how many,
# default namespace, then the cursor's score and order id ('' for the first page).
# The next page starts right after the cursor's own entry, found by its rank inside this
# script: the rank and the range are read atomically, so orders placed since the last page
# (higher scores, hence lower ranks) cannot shift it. Only if that entry is gone does it
# fall back to "scores below the cursor's", which can skip orders sharing that millisecond.
_CUSTOMER_ORDERS = (
    LUA_KEYS
    + """
local ns = redis.call('GET', KEYS[1]) or ARGV[3]
local key = customer_key(ns, ARGV[1])
local count = tonumber(ARGV[2])
local ids
if ARGV[4] == '' then
  ids = redis.call('ZREVRANGE', key, 0, count - 1, 'WITHSCORES')
else
  local score = redis.call('ZSCORE', key, ARGV[5])
  if score and tonumber(score) == tonumber(ARGV[4]) then
    local start = redis.call('ZREVRANK', key, ARGV[5]) + 1
    ids = redis.call('ZREVRANGE', key, start, start + count - 1, 'WITHSCORES')
  else
    ids = redis.call('ZREVRANGEBYSCORE', key, '(' .. ARGV[4], '-inf', 'WITHSCORES',
                     'LIMIT', 0, count)
  end
end
local out = {}
for i = 1, #ids, 2 do
  local f = redis.call('HMGET', order_key(ns, ids[i]),
                       'source_version', 'last_event_id', 'projected_at', 'doc', 'committed_at')
  out[#out + 1] = {ids[i], ids[i + 1], f[1], f[2], f[3], f[4], f[5]}
end
return out
"""
)
POLL_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class SummaryRead:
    """An order as the summary holds it."""

    order: dict[str, Any]
    freshness: Freshness


# (placement time in epoch milliseconds, order id): where a customer's page ends.
CustomerKey = tuple[int, str]


@dataclass(frozen=True, slots=True)
class CustomerPage:
    """Orders of a page, and the key of its last entry when more follow."""

    reads: list[SummaryRead]
    last: CustomerKey | None


def _parse(fields: list[str | None]) -> SummaryRead | None:
    version, event_id, projected_at, doc, committed_at = fields
    if version is None or doc is None or event_id is None or projected_at is None:
        return None
    freshness = Freshness(int(version), event_id, projected_at, committed_at)
    return SummaryRead(json.loads(doc), freshness)


class SummaryReader:
    """Order and customer reads from the live summary namespace."""

    def __init__(self, redis: Redis, *, wait_budget_seconds: float) -> None:
        self.redis = redis
        self.wait_budget = wait_budget_seconds
        self._get = redis.register_script(_GET_ORDER)
        self._by_customer = redis.register_script(_CUSTOMER_ORDERS)

    async def order(self, order_id: str) -> SummaryRead | None:
        """The order's summary, or None when the projection has not seen it."""
        fields = await self._get(keys=[ACTIVE_KEY], args=[order_id, DEFAULT_NAMESPACE])
        return _parse(fields)

    async def order_at_least(self, order_id: str, min_version: int | None) -> SummaryRead | None:
        """Wait (bounded) until the summary holds ``min_version``; never return older data.

        Raises NotYetProjected when the budget runs out first.
        """
        deadline = time.monotonic() + (self.wait_budget if min_version is not None else 0)
        while True:
            found = await self.order(order_id)
            if found is not None and (
                min_version is None or found.freshness.source_version >= min_version
            ):
                return found
            if min_version is None:
                return None
            if time.monotonic() >= deadline:
                raise NotYetProjected(
                    min_version, found.freshness.source_version if found else None
                )
            await asyncio.sleep(POLL_SECONDS)

    async def customer_orders(self, customer_id: str, limit: int) -> list[SummaryRead]:
        """The customer's orders, newest first."""
        return (await self.customer_page(customer_id, limit)).reads

    async def customer_page(
        self, customer_id: str, limit: int, after: CustomerKey | None = None
    ) -> CustomerPage:
        """Up to ``limit`` of the customer's orders after ``after``, newest first, and the key
        to continue from (None when none are left)."""
        score, order_id = after if after is not None else ("", "")
        rows = await self._by_customer(
            keys=[ACTIVE_KEY],
            args=[customer_id, limit + 1, DEFAULT_NAMESPACE, score, order_id],
        )
        shown = rows[:limit]
        reads = [read for read in (_parse(row[2:]) for row in shown) if read is not None]
        last: CustomerKey | None = None
        if len(rows) > limit:  # one more exists: continue after the last one shown
            last = (int(float(shown[-1][1])), str(shown[-1][0]))
        return CustomerPage(reads, last)


_VERSIONS = (
    LUA_KEYS
    + """
local ns = redis.call('GET', KEYS[1]) or ARGV[1]
local out = {}
for i = 2, #ARGV do
  local key = order_key(ns, ARGV[i])
  out[i - 1] = redis.call('HGET', key, 'source_version') or false
end
return out
"""
)


class SummaryVersions:
    """``source_version`` of many orders at once, for drift checks."""

    name = "summary"

    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_VERSIONS)

    async def versions(self, order_ids: list[str]) -> list[int | None]:
        """The summary's version of each order (None: missing), in the same order."""
        if not order_ids:
            return []
        found = await self._script(keys=[ACTIVE_KEY], args=[DEFAULT_NAMESPACE, *order_ids])
        # The script stores ``false`` for a missing order (a Lua nil would end the array);
        # Redis hands it back as None.
        return [int(v) if v is not None else None for v in found]
