"""The Redis order summary: one atomic Lua script per event, guarded by version.

The script compares the stored ``source_version`` with the event's and writes only a newer
one, so duplicates and out-of-order deliveries leave the newest state. The dedupe check and
the write are one script, hence atomic inside Redis: there is no window between them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from orders_cqrs.projections.port import Outcome, Projection, StoreUnavailableError
from orders_cqrs.projections.summary_keys import ACTIVE_KEY, DEFAULT_NAMESPACE
from orders_cqrs.stream import StreamEvent

# KEYS: none (keys derive from the namespace, which the script resolves atomically).
# ARGV: namespace ('' = the active one), order_id, customer_id, version, event_id,
#       projected_at, doc, placed_at_ms
# Returns 1 applied, 0 duplicate (same event or same version), -1 stale (older version).
APPLY_LUA = (
    """
local ns = ARGV[1]
if ns == '' then ns = redis.call('GET', '"""
    + ACTIVE_KEY
    + """') or '"""
    + DEFAULT_NAMESPACE
    + """' end
local key = 'summary:' .. ns .. ':order:' .. ARGV[2]
local current = redis.call('HMGET', key, 'source_version', 'last_event_id')
if current[1] then
  local stored = tonumber(current[1])
  local incoming = tonumber(ARGV[4])
  if current[2] == ARGV[5] or stored == incoming then return 0 end
  if stored > incoming then return -1 end
end
redis.call('HSET', key, 'source_version', ARGV[4], 'last_event_id', ARGV[5],
           'projected_at', ARGV[6], 'doc', ARGV[7], 'customer_id', ARGV[3])
redis.call('ZADD', 'summary:' .. ns .. ':customer:' .. ARGV[3], ARGV[8], ARGV[2])
return 1
"""
)

_OUTCOMES = {1: Outcome.APPLIED, 0: Outcome.DUPLICATE, -1: Outcome.STALE}


class SummaryProjection(Projection):
    """Feeds ``summary:<ns>:order:<id>`` hashes and per-customer indexes."""

    name = "summary"

    def __init__(self, redis: Redis, *, namespace: str = "") -> None:
        self.redis = redis
        self.namespace = namespace  # '' follows summary:active; a rebuild names its target
        self._script = redis.register_script(APPLY_LUA)

    async def apply(self, events: Sequence[StreamEvent]) -> list[Outcome]:
        """One script call per event, pipelined; each call is atomic on its own."""
        projected_at = datetime.now(UTC).isoformat()
        pipe = self.redis.pipeline(transaction=False)
        for event in events:
            order = event.payload["order"]
            placed = datetime.fromisoformat(order["placed_at"])
            await self._script(
                args=[
                    self.namespace,
                    str(event.aggregate_id),
                    order["customer"]["id"],
                    event.aggregate_version,
                    str(event.event_id),
                    projected_at,
                    json.dumps(order, separators=(",", ":")),
                    int(placed.timestamp() * 1000),
                ],
                client=pipe,
            )
        try:
            results = await pipe.execute()
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            raise StoreUnavailableError(str(error)) from error
        return [_OUTCOMES[int(result)] for result in results]
