"""The Redis order summary: one atomic Lua script per batch, guarded by version per order.

For each event in turn, the script compares the stored ``source_version`` with the event's
and writes only a newer one, so duplicates and out-of-order deliveries leave the newest
state. The dedupe check and the write are one script, hence atomic inside Redis: there is no
window between them. Events are applied in batch order inside the script, exactly as one
call per event would apply them, but with one round trip and one reply per chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from orders_cqrs.failures.stores import StoreUnavailable
from orders_cqrs.readmodels.port import Outcome, Projection
from orders_cqrs.readmodels.summary.keys import DEFAULT_NAMESPACE, LUA_KEYS
from orders_cqrs.relay.wire import StreamEvent

ARGS_PER_EVENT = 7
CHUNK = 500  # events per script call: Redis runs a call atomically, keep each one short

# KEYS: none (keys derive from the namespace, which the script resolves atomically).
# ARGV: namespace ('' = the active one), projected_at, then per event:
#       order_id, customer_id, version, event_id, doc, placed_at_ms, committed_at
# Returns one code per event: 1 applied, 0 duplicate (same event or same version),
# -1 stale (older version).
APPLY_LUA = (
    LUA_KEYS
    + f"""
local ns = ARGV[1]
if ns == '' then ns = active_namespace('{DEFAULT_NAMESPACE}') end
local projected_at = ARGV[2]
local out = {{}}
for i = 3, #ARGV, {ARGS_PER_EVENT} do
  local order_id, customer_id, version, event_id = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = order_key(ns, order_id)
  local current = redis.call('HMGET', key, 'source_version', 'last_event_id')
  local code = 1
  if current[1] then
    local stored = tonumber(current[1])
    local incoming = tonumber(version)
    if current[2] == event_id or stored == incoming then
      code = 0
    elseif stored > incoming then
      code = -1
    end
  end
  if code == 1 then
    redis.call('HSET', key, 'source_version', version, 'last_event_id', event_id,
               'projected_at', projected_at, 'doc', ARGV[i + 4], 'customer_id', customer_id,
               'committed_at', ARGV[i + 6])
    redis.call('ZADD', customer_key(ns, customer_id), ARGV[i + 5], order_id)
  end
  out[#out + 1] = code
end
return out
"""
)

_OUTCOMES = {1: Outcome.APPLIED, 0: Outcome.DUPLICATE, -1: Outcome.STALE}


def _event_args(event: StreamEvent) -> tuple[str, str, int, str, bytes, int, str]:
    order = event.payload["order"]
    placed = datetime.fromisoformat(order["placed_at"])
    return (
        str(event.aggregate_id),
        order["customer"]["id"],
        event.aggregate_version,
        str(event.event_id),
        # The stored document is compact JSON (orjson writes UTF-8 where the standard library
        # would escape); readers parse it, so the value is what matters, not the escapes.
        orjson.dumps(order),
        int(placed.timestamp() * 1000),
        event.occurred_at.isoformat(),  # the event's commit time: lag = projected − committed
    )


class SummaryProjection(Projection):
    """Feeds ``summary:<ns>:order:<id>`` hashes and per-customer indexes."""

    name = "summary"

    def __init__(self, redis: Redis, *, namespace: str = "") -> None:
        self.redis = redis
        self.namespace = namespace  # '' follows summary:active; a rebuild names its target
        self._script = redis.register_script(APPLY_LUA)

    async def apply(self, events: Sequence[StreamEvent]) -> list[Outcome]:
        """One script call per chunk of events; each call is atomic on its own."""
        if not events:
            return []
        projected_at = datetime.now(UTC).isoformat()
        results: list[int] = []
        try:
            for start in range(0, len(events), CHUNK):
                args: list[str | bytes | int] = [self.namespace, projected_at]
                for event in events[start : start + CHUNK]:
                    args.extend(_event_args(event))
                # EVALSHA on its own: a pipeline would ask SCRIPT EXISTS first, every batch
                results.extend(await self._script(args=args))
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            raise StoreUnavailable(str(error)) from error
        return [_OUTCOMES[int(code)] for code in results]
