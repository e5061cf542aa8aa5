"""The ClickHouse session port, and its one adapter: a ``clickhouse-connect`` client.

The same synchronous client talks to a ClickHouse server (``http://host:8123/db``) or to the
real ClickHouse engine embedded in this process (``chdb:///abs/path``): the SQL is the same,
only the transport differs. chDB has no async client and hosts one engine path per process,
so the client is synchronous, opened lazily (a process that never touches analytics never
starts an engine, and a locked path cannot stop the API from starting) and shared by every
caller of the process. Driver errors are converted here: connection trouble becomes
``StoreUnavailable`` (retried by the engine, a 503 for readers); everything else is the
caller's problem.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from orders_cqrs.failures.stores import StoreUnavailable
from orders_cqrs.observability.redaction import redact_text, redact_url

T = TypeVar("T")

# Server error codes that say "the store, not the statement": worth retrying later.
TRANSIENT_CODES = frozenset(
    {
        159,  # TIMEOUT_EXCEEDED
        164,  # READONLY
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        241,  # MEMORY_LIMIT_EXCEEDED
        242,  # TABLE_IS_READ_ONLY
        252,  # TOO_MANY_PARTS
        425,  # SYSTEM_ERROR
    }
)


class ClickHouseSession(ABC):
    """Synchronous ClickHouse access, awaited from async code without blocking the loop."""

    url: str

    @property
    def in_process(self) -> bool:
        """True for chDB: the engine lives in this process, so only this process may use it."""
        return self.url.startswith("chdb://")

    @abstractmethod
    async def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns nothing worth reading (DDL, SYSTEM …)."""

    @abstractmethod
    async def query(
        self, sql: str, parameters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Rows of a SELECT as dicts, with ``{name:Type}`` server-side bound parameters."""

    @abstractmethod
    async def insert(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        columns: Sequence[str],
        types: Sequence[str],
    ) -> None:
        """Insert the rows in one INSERT (one part on the server); ``types`` are the columns'
        ClickHouse types, so no round trip asks the server to describe the table."""

    @abstractmethod
    async def close(self) -> None:
        """Release the client (for chDB: the engine and its directory lock)."""


def is_transient(error: BaseException) -> bool:
    """Connection trouble, timeouts and overload: retry, never dead-letter."""
    if isinstance(error, OperationalError | OSError | TimeoutError):
        return True
    return isinstance(error, DatabaseError) and getattr(error, "code", None) in TRANSIENT_CODES


class ConnectSession(ClickHouseSession):
    """A ``clickhouse-connect`` client on HTTP or on chDB, opened on first use."""

    def __init__(self, url: str, *, connect_timeout: int = 5, query_timeout: int = 30) -> None:
        self.url = url
        self._connect_timeout = connect_timeout
        self._query_timeout = query_timeout
        self._client: Client | None = None
        # Two locks, two reasons. The asyncio lock queues callers in the event loop, so a slow
        # query does not park a thread of the default executor per waiting request. The thread
        # lock is what makes the client safe: a chDB handle must never see two calls at once
        # (an open result stream silently empties the next query), and sync callers (close,
        # the benchmark) may come from any thread.
        self._queue = asyncio.Lock()
        self._thread_lock = threading.Lock()

    def _open(self) -> Client:
        parts = urlsplit(self.url)
        if parts.scheme == "chdb":
            path = Path(unquote(parts.path))
            path.mkdir(parents=True, exist_ok=True)
            return clickhouse_connect.get_client(interface="chdb", path=str(path))
        return clickhouse_connect.get_client(
            host=parts.hostname,
            port=parts.port or (8443 if parts.scheme == "https" else 8123),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password or ""),
            database=parts.path.strip("/") or "default",
            secure=parts.scheme == "https",
            connect_timeout=self._connect_timeout,
            send_receive_timeout=self._query_timeout,
        )

    def _failure(self, error: Exception) -> str:
        """What went wrong where, without the URL's password (the driver's message may quote
        the URL too); the chain is cut for the same reason."""
        return f"{redact_url(self.url)}: {type(error).__name__}: {redact_text(str(error))}"

    def _call(self, work: Callable[[Client], T]) -> T:
        with self._thread_lock:
            if self._client is None:
                try:
                    self._client = self._open()
                except Exception as error:
                    # A server that does not answer, or a chDB path another process holds.
                    # The message is logged and shown in problems: never with the password.
                    raise StoreUnavailable(f"cannot open {self._failure(error)}") from None
            try:
                return work(self._client)
            except Exception as error:
                if is_transient(error):
                    raise StoreUnavailable(self._failure(error)) from None
                raise

    async def _run(self, work: Callable[[Client], T]) -> T:
        async with self._queue:
            return await asyncio.to_thread(self._call, work)

    async def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns nothing worth reading (DDL, SYSTEM …)."""
        await self._run(lambda client: client.command(sql, parameters=dict(parameters or {})))

    async def query(
        self, sql: str, parameters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Rows of a SELECT as dicts, with ``{name:Type}`` server-side bound parameters."""

        def work(client: Client) -> list[dict[str, Any]]:
            return list(client.query(sql, parameters=dict(parameters or {})).named_results())

        return await self._run(work)

    async def insert(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        columns: Sequence[str],
        types: Sequence[str],
    ) -> None:
        """Insert the rows in one INSERT (one part on the server)."""
        if not rows:
            return
        await self._run(
            lambda client: client.insert(
                table, list(rows), column_names=list(columns), column_type_names=list(types)
            )
        )

    def close_sync(self) -> None:
        """Close from synchronous code."""
        with self._thread_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def close(self) -> None:
        """Release the client (for chDB: the engine and its directory lock)."""
        await asyncio.to_thread(self.close_sync)


def build_session(url: str) -> ClickHouseSession | None:
    """The session for ``ORDERS_CLICKHOUSE_URL``; None when analytics is switched off ("")."""
    return ConnectSession(url) if url else None
