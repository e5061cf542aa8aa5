"""What the request log line says about the request in hand, gathered while it runs.

The log line is written by the outermost middleware (``api/request_log.py``) after the
response, but who the caller is and which trace it belongs to are learnt deeper down: the
auth dependency, the console's session, the command envelope. They note it here. The facts
live in a context variable set per request; each request runs in a task of its own, so no
request sees another's, and the object is mutated in place, so what a dependency notes is
seen by the middleware that set it (a context variable *set* inside would not be).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class RequestFacts:
    """The request's trace context and, once known, its caller."""

    traceparent: str
    client_id: str | None = None

    @property
    def trace_id(self) -> str:
        """The W3C trace id (the second field of ``traceparent``)."""
        return self.traceparent.split("-")[1]


_CURRENT: ContextVar[RequestFacts | None] = ContextVar("orders_request_facts", default=None)


def begin(traceparent: str) -> RequestFacts:
    """Start the facts of the request this task serves."""
    facts = RequestFacts(traceparent)
    _CURRENT.set(facts)
    return facts


def current_traceparent() -> str | None:
    """The request's trace context, so that the outbox rows carry the id its log line shows."""
    facts = _CURRENT.get()
    return facts.traceparent if facts is not None else None


def note_client(client_id: str) -> None:
    """Name the authenticated caller (an API key's client id or a session's principal, never
    a key)."""
    facts = _CURRENT.get()
    if facts is not None:
        facts.client_id = client_id
