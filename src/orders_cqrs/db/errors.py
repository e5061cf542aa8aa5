"""Driver errors converted at the boundary into the few cases the service treats differently."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"


class StoreError(Exception):
    """A problem of the write store, not of the request."""


class StoreBusy(StoreError):
    """A lock or statement timed out: the same request may succeed if retried."""


class StoreUnavailable(StoreError):
    """PostgreSQL cannot be reached."""


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def as_store_error(error: BaseException) -> StoreError | None:
    """The ``StoreError`` a driver error stands for, or None when it is not one of ours."""
    if isinstance(error, DBAPIError):
        state = _sqlstate(error)
        if state in {LOCK_NOT_AVAILABLE, QUERY_CANCELED, SERIALIZATION_FAILURE, DEADLOCK_DETECTED}:
            return StoreBusy(f"write store busy ({state})")
        if isinstance(error, OperationalError | InterfaceError) and state is None:
            return StoreUnavailable("write store unavailable")
        return None
    if isinstance(error, ConnectionError | TimeoutError):
        return StoreUnavailable("write store unavailable")
    return None
