"""Stores that cannot serve: the one failure type every adapter converts its driver's errors to.

``StoreUnavailable`` is raised by the write store's adapter (``db/errors.py`` converts psycopg
and SQLAlchemy errors into it) and by the read stores' adapters (``readmodels/``: Redis,
OpenSearch, ClickHouse), retried by the relay and the projection engine and answered with a
503 by the API and the consoles. It lives apart from both sides, importing nothing of ours,
so neither ``db`` nor ``readmodels`` depends on the other to name it.
"""

from __future__ import annotations


class StoreError(Exception):
    """A store cannot serve the request right now; the request itself may be fine."""


class StoreBusy(StoreError):
    """A write-store lock or statement timed out: the same request may succeed if retried."""


class StoreUnavailable(StoreError):
    """A store cannot be reached: retry later.

    The projection engine retries the same batch for this and never dead-letters it; the API
    and the consoles answer 503 with ``Retry-After``.
    """
