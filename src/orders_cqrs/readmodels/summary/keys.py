"""Key layout of the Redis order summary, shared by the projector, the readers and rebuilds.

``summary:active`` names the live namespace; a rebuild fills a new namespace and flips it.
The Lua scripts build keys with ``LUA_KEYS``, generated from the same constants, so there is
one definition of the layout.
"""

from __future__ import annotations

ROOT = "summary"
ACTIVE_KEY = f"{ROOT}:active"
DEFAULT_NAMESPACE = "v1"


def order_key(namespace: str, order_id: str) -> str:
    """The hash holding one order's summary and its freshness stamps."""
    return f"{ROOT}:{namespace}:order:{order_id}"


def namespace_pattern(namespace: str) -> str:
    """A SCAN pattern matching every key of one namespace."""
    return f"{ROOT}:{namespace}:*"


# Lua helpers with the same layout; prepend to a script that builds summary keys.
LUA_KEYS = f"""
local function active_namespace(default)
  return redis.call('GET', '{ACTIVE_KEY}') or default
end
local function order_key(ns, id) return '{ROOT}:' .. ns .. ':order:' .. id end
-- a customer's orders: a sorted set scored by placement time
local function customer_key(ns, id) return '{ROOT}:' .. ns .. ':customer:' .. id end
"""
