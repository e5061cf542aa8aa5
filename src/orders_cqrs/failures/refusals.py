"""Refusals that are not order rules: bad search or dashboard parameters, refused admin.

``domain/errors.py`` holds the rules of an order: a command that breaks one is refused,
audited, and its problem names the rule. What is here is everything else, kept apart so that
a bad search parameter or a refused rebuild never reads as something an order did wrong.
``api/problems.py`` maps each class to its problem type without importing the route modules
that raise them (they import ``api/problems.py``): here, every one of them can import these
without a cycle.
"""

from __future__ import annotations


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


class InvalidCursor(InvalidQuery):
    """A listing's ``after`` cursor was not issued by that listing for that scope."""


class VersionNotWritten(InvalidQuery):
    """A read asked for a version the order has not reached in the write model.

    No wait can cure that (the version may never exist), so it is answered at once instead
    of after the wait budget with a 503 that invites retries.
    """

    def __init__(self, detail: str, current_version: int | None = None) -> None:
        super().__init__(detail)
        self.current_version = current_version


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


class HistoryGone(AdminRefusal):
    """The event log no longer holds what a rebuild needs (pruned archive): it would lose orders."""
