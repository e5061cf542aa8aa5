"""A transaction that sends its statements in as few round trips as the logic allows.

A checkout runs a handful of short statements. Sent one by one through an async driver,
each costs a wait on the socket and a pass through the event loop, and together they cost
more CPU in the API process than PostgreSQL spends executing them. So a ``Session`` queues
every statement whose answer nobody needs yet (``later``), and sends the queue, the
statements whose answers are needed now (``run``/``run_all``) and finally the COMMIT as one
simple-protocol message each: PostgreSQL executes them in order, in one transaction, and
stops at the first error, which rolls the transaction back when the session ends.

Parameters are bound by psycopg on the client (``ClientCursor``), which quotes every value
for the connection's encoding; no value is ever spliced into SQL by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import orjson
from psycopg import AsyncClientCursor

from orders_cqrs.db.connection import Connection
from orders_cqrs.observability import tracing

Params = Sequence[Any] | Mapping[str, Any] | None
Rows = list[tuple[Any, ...]]
T = TypeVar("T")


def json_text(value: Any) -> str:
    """A value as JSON text for a ``%s::jsonb`` parameter (UUIDs and datetimes included)."""
    return orjson.dumps(value).decode()


class Deferred(Generic[T]):
    """The answer of a statement sent with the next round trip, readable after it."""

    __slots__ = ("_convert", "_ready", "_value")

    def __init__(self, convert: Callable[[Rows], T]) -> None:
        self._convert = convert
        self._ready = False
        self._value: T | None = None

    def _resolve(self, rows: Rows) -> None:
        self._value = self._convert(rows)
        self._ready = True

    @property
    def value(self) -> T:
        """The converted answer; only after the round trip that carried the statement."""
        assert self._ready, "read before its statement was sent"
        return self._value  # type: ignore[return-value]


class Session:
    """One transaction on one autocommit connection, with BEGIN and COMMIT sent by us."""

    def __init__(self, conn: Connection, *, recorder: list[str] | None = None) -> None:
        self._conn = conn
        self._cursor = AsyncClientCursor(conn)
        self._recorder = recorder
        self._queued: list[str] = []
        self._deferred: list[tuple[int, Deferred[Any]]] = []
        self._checks: list[Callable[[], Awaitable[None]]] = []
        self._began = False
        self._open = False
        self._last_description: Sequence[Any] = ()
        # The statements' text without their values, for a tracing span; None when the
        # process does not trace (the hot path then pays nothing for it).
        self._texts: list[str] | None = [] if tracing.active() else None

    def later(self, sql: str, params: Params = None) -> None:
        """Queue a statement; it travels with the next one that waits for an answer."""
        self._queued.append(self._cursor.mogrify(sql, params))
        if self._texts is not None:
            self._texts.append(sql)

    def defer(self, sql: str, params: Params, convert: Callable[[Rows], T]) -> Deferred[T]:
        """Queue a statement whose answer is read after the next round trip."""
        deferred = Deferred(convert)
        self._deferred.append((len(self._queued), deferred))
        self.later(sql, params)
        return deferred

    def check_after_next_answer(self, check: Callable[[], Awaitable[None]]) -> None:
        """Run ``check`` once the next round trip is back, before anyone sees its answers.

        This lets a statement travel ahead of the statements that depend on its outcome:
        if the check raises, the caller never acts on what came back with it, and the
        transaction rolls back.
        """
        self._checks.append(check)

    async def run(self, sql: str, params: Params = None) -> Rows:
        """Send the queue and this statement; the rows this statement returned."""
        return (await self.run_all([(sql, params)]))[0]

    async def run_named(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """Like ``run``, with each row as a dict keyed by column name."""
        rows = await self.run(sql, params)
        names = [column.name for column in self._last_description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    async def run_all(self, statements: Sequence[tuple[str, Params]]) -> list[Rows]:
        """Send the queue and these statements in one round trip; the rows of each."""
        for sql, params in statements:
            self.later(sql, params)
        results = await self._send()
        return results[len(results) - len(statements) :]

    async def settle(self) -> None:
        """Send what is queued if a check or a deferred answer waits on it."""
        if self._checks or self._deferred:
            await self._send()

    async def commit(self) -> None:
        """Send the queue with COMMIT: everything becomes durable at once, or nothing."""
        await self.settle()  # checks must pass before anything is committed
        self._queued.append("COMMIT")
        if self._texts is not None:
            self._texts.append("COMMIT")
        await self._send()
        self._open = False

    async def rollback(self) -> None:
        """Abandon the transaction (and whatever is still queued)."""
        self._queued.clear()
        self._deferred.clear()
        self._checks.clear()
        if self._texts is not None:
            self._texts.clear()
        if self._open:
            self._open = False
            if self._recorder is not None:
                self._recorder.append("ROLLBACK")
            await self._execute("ROLLBACK", ["ROLLBACK"])

    async def _send(self) -> list[Rows]:
        statements, self._queued = self._queued, []
        deferred, self._deferred = self._deferred, []
        checks, self._checks = self._checks, []
        texts = self._texts
        if texts is not None:
            self._texts = []
        opening = not self._began
        if opening:
            statements.insert(0, "BEGIN")
            self._began = self._open = True
            if texts is not None:
                texts.insert(0, "BEGIN")
        message = ";\n".join(statements)
        if self._recorder is not None:
            self._recorder.append(message)
        await self._execute(message, texts)
        results: list[Rows] = []
        description: Sequence[Any] | None = None
        while True:
            description = self._cursor.description
            results.append(await self._cursor.fetchall() if description else [])
            if not self._cursor.nextset():
                break
        if opening:
            results = results[1:]
        for index, pending in deferred:
            pending._resolve(results[index])
        for check in checks:
            await check()  # may send statements of its own
        self._last_description = description or ()  # this message's last statement's columns
        return results

    async def _execute(self, message: str, texts: list[str] | None) -> None:
        if texts is None:
            await self._cursor.execute(message)
            return
        info = self._conn.info
        where: dict[str, str | int] = {
            "db.namespace": info.dbname,
            "server.address": info.host,
            "server.port": info.port,
        }
        with tracing.statement_span(texts, where):
            await self._cursor.execute(message)
