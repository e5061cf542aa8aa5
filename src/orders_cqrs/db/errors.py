"""Driver errors converted at the boundary into the few cases the service treats differently.

The cases themselves (``StoreBusy``, ``StoreUnavailable``) live in ``failures/stores.py``:
the read stores' adapters raise ``StoreUnavailable`` too.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import PoolTimeout
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from orders_cqrs.failures.stores import StoreBusy, StoreError, StoreUnavailable

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
_BUSY = {LOCK_NOT_AVAILABLE, QUERY_CANCELED, SERIALIZATION_FAILURE, DEADLOCK_DETECTED}
# The server ended the session: a shutdown or restart (57P01 is also what
# pg_terminate_backend sends), a crash of another backend, a server still starting. The
# connection is gone, not the request's fault: the store is unavailable until it is back.
_GONE = {"57P01", "57P02", "57P03"}
CONNECTION_EXCEPTION_CLASS = "08"


def _unreachable(state: str | None) -> bool:
    return state is None or state in _GONE or state.startswith(CONNECTION_EXCEPTION_CLASS)


def _from_psycopg(error: psycopg.Error) -> StoreError | None:
    state = error.sqlstate
    if state in _BUSY:
        return StoreBusy(f"write store busy ({state})")
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError) and _unreachable(state):
        return StoreUnavailable("write store unavailable")
    return None


def as_store_error(error: BaseException) -> StoreError | None:
    """The ``StoreError`` a driver error stands for, or None when it is not one of ours.

    The command side talks to psycopg directly, the read side through SQLAlchemy: both
    drivers' errors end up as the same two cases.
    """
    if isinstance(error, PoolTimeout):
        return StoreBusy("write store busy (no free connection)")
    if isinstance(error, psycopg.Error):
        return _from_psycopg(error)
    if isinstance(error, DBAPIError):
        orig = error.orig
        if isinstance(orig, psycopg.Error) and orig.sqlstate in _BUSY:
            return StoreBusy(f"write store busy ({orig.sqlstate})")
        state = getattr(orig, "sqlstate", None)
        if isinstance(error, OperationalError | InterfaceError) and _unreachable(state):
            return StoreUnavailable("write store unavailable")
        return None
    if isinstance(error, ConnectionError | TimeoutError):
        return StoreUnavailable("write store unavailable")
    return None
