"""The SQLAlchemy pool's occupancy, and how long callers wait for a connection.

Pool events tell when a connection is taken or given back, but not when a caller *starts*
waiting for one, and the checkin event fires before the connection is back in the queue. So
the pool class itself does the measuring (``TimedQueuePool``, which ``bootstrap/clients.py``
builds engines with): it times each wait, and reads its in-use and idle counts after every
checkout and return. ``/metrics`` reads them once more when it is scraped. With several API
workers each keeps its own values current, the worker that is not answering the scrape
included, and the gauge sums the live workers.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool

from orders_cqrs.observability import metrics

_POOLS: weakref.WeakSet[TimedQueuePool] = weakref.WeakSet()


class TimedQueuePool(AsyncAdaptedQueuePool):
    """The async engine's default pool, timing each wait for a connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _POOLS.add(self)

    def _do_get(self) -> Any:
        started = time.perf_counter()
        try:
            return super()._do_get()
        finally:
            metrics.DB_POOL_CHECKOUT_WAIT_SECONDS.observe(time.perf_counter() - started)
            self.sample()

    def _do_return_conn(self, record: Any) -> None:
        super()._do_return_conn(record)
        self.sample()

    def sample(self) -> None:
        """Export this pool's in-use and idle connections."""
        metrics.DB_POOL_CONNECTIONS.labels("in_use").set(self.checkedout())
        metrics.DB_POOL_CONNECTIONS.labels("idle").set(self.checkedin())


def sample_pools() -> None:
    """Read every pool of this process now (``/metrics`` calls it before answering)."""
    for pool in list(_POOLS):
        pool.sample()
