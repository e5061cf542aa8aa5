"""The command envelope: Idempotency-Key, If-Match and trace context, turned into a context."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from pydantic import BaseModel

from orders_cqrs.api.auth import Principal
from orders_cqrs.observability import tracing
from orders_cqrs.observability.request_context import current_traceparent
from orders_cqrs.write.context import CommandContext

KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
IF_MATCH_PATTERN = r'^(\*|"?[0-9]{1,9}"?)$'
_IF_MATCH = re.compile(r'^"?(\d{1,9})"?$')
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def fingerprint(method: str, path: str, body: BaseModel | None) -> str:
    """SHA-256 over method, path and the canonical JSON of the validated body."""
    canonical = json.dumps(
        body.model_dump(mode="json") if body is not None else None,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def parse_if_match(value: str | None) -> int | None:
    """``"7"`` → 7; None when absent or ``*`` (any version); 400 when it names no version.

    If-Match compares strongly (RFC 9110 §13.1.1), so a weak ``W/"7"`` names no version.
    """
    if value is None or value.strip() == "*":
        return None
    match = _IF_MATCH.match(value.strip())
    if match is None:
        raise HTTPException(400, 'If-Match must be an order ETag such as "3"')
    return int(match.group(1))


def trace_context(value: str | None) -> str:
    """The request's span when this process traces, else the caller's W3C traceparent when
    valid, else a new root one.

    When tracing, the request's server span already continues the caller's trace (its parent
    is the caller's span), so the events stored with it continue that trace through the relay
    and the projectors. Valid means the shape plus the spec's rules: version ``ff`` and
    all-zero ids are invalid.
    """
    own = tracing.current_traceparent()
    if own is not None:
        return own
    if value is not None and _TRACEPARENT.match(value):
        version, trace_id, parent_id, _ = value.split("-")
        if version != "ff" and trace_id != "0" * 32 and parent_id != "0" * 16:
            return value
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


class Envelope:
    """The headers every mutating call carries."""

    __slots__ = ("idempotency_key", "if_match", "method", "path", "traceparent")

    def __init__(
        self, method: str, path: str, idempotency_key: str, if_match: int | None, traceparent: str
    ) -> None:
        self.method = method
        self.path = path
        self.idempotency_key = idempotency_key
        self.if_match = if_match
        self.traceparent = traceparent

    def context(self, command: str, principal: Principal, body: BaseModel | None) -> CommandContext:
        """The command context for this request."""
        return CommandContext(
            command=command,
            actor=principal.client_id,
            client_id=principal.client_id,
            idempotency_key=self.idempotency_key,
            fingerprint=fingerprint(self.method, self.path, body),
            if_match=self.if_match,
            traceparent=self.traceparent,
            actor_name=principal.name,
            actor_email=principal.email,
        )


async def read_envelope(
    request: Request,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            pattern=KEY_PATTERN,
            description="Unique per intended command; retries reuse it. Expires after 24 h.",
        ),
    ],
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            pattern=IF_MATCH_PATTERN,
            description='Expected version (strong ETag), e.g. "3"; * matches any.',
        ),
    ] = None,
    traceparent: Annotated[str | None, Header(max_length=55)] = None,
) -> Envelope:
    """The envelope of this request (async: a sync dependency costs a thread hop per call).

    The trace context is the one the request log chose (``api/request_log.py``), so the
    outbox rows carry the trace id of the request's log line.
    """
    return Envelope(
        request.method,
        request.url.path,
        idempotency_key,
        parse_if_match(if_match),
        tracing.current_traceparent() or current_traceparent() or trace_context(traceparent),
    )


EnvelopeDep = Annotated[Envelope, Depends(read_envelope)]
