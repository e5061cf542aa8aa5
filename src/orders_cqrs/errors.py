"""Failures that are not order rules: stores that cannot serve, and refused queries or admin.

``domain/errors.py`` holds the rules of an order: a command that breaks one is refused,
audited, and its problem names the rule. What is here is everything else, kept apart so that
a bad search parameter or a refused rebuild never reads as something an order did wrong.

Why a module of its own, importing nothing of ours: ``StoreUnavailable`` is raised by the
write store's adapter (``db/errors.py`` converts psycopg and SQLAlchemy errors into it) and by
the read stores' adapters (``readmodels/``: Redis, OpenSearch, ClickHouse), retried by the
projection engine and answered with a 503 by the API and the consoles. ``readmodels`` must not
depend on the driver-level ``db/errors.py`` nor ``db`` on the read side, and ``api/problems.py``
must map the refusals by class without importing the route modules that raise them (they
import ``api/problems.py``). Here, every one of them can import these without a cycle.
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


class Refusal(Exception):
    """A request the service will not run as asked; it changed nothing.

    Not a ``DomainError``: no order rule is involved and no command ran, so nothing is audited.
    ``api/problems.py`` maps each subclass to its problem type.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidQuery(Refusal):
    """A read's parameters are outside what it answers."""


class InvalidSearch(InvalidQuery):
    """A support-search parameter is out of range (a foreign cursor, a date past 2200, …)."""


class InvalidDashboardQuery(InvalidQuery):
    """A dashboard parameter is outside what the dashboards answer."""


class AdminRefusal(Refusal):
    """An ops request on the projections that cannot be carried out."""


class UnknownProjection(AdminRefusal):
    """No projection has that name."""


class RebuildUnsupported(AdminRefusal):
    """That projection has no blue/green rebuild."""


class RebuildRunning(AdminRefusal):
    """A rebuild of that projection is already running in this process."""
