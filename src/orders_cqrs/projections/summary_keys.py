"""Key layout of the Redis order summary, shared by the projector and the readers.

``summary:active`` names the live namespace; a rebuild fills a new namespace and flips it.
"""

from __future__ import annotations

ACTIVE_KEY = "summary:active"
DEFAULT_NAMESPACE = "v1"


def order_key(namespace: str, order_id: str) -> str:
    """The hash holding one order's summary and its freshness stamps."""
    return f"summary:{namespace}:order:{order_id}"


def customer_key(namespace: str, customer_id: str) -> str:
    """The sorted set of a customer's orders, scored by placement time."""
    return f"summary:{namespace}:customer:{customer_id}"
