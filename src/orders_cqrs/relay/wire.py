"""The wire format of an outbox event on the Redis stream, shared by the relay and projectors.

The JSON fields (``headers``, ``payload``) are compact JSON exactly as
``json.dumps(value, separators=(",", ":"))`` writes it, keys in the order PostgreSQL's
``jsonb`` keeps them. The relay and the rebuild read ``jsonb`` as text and turn it into that
form without building Python dicts when they can (``compact_json``); projectors parse it with
``load_json``. Both are byte- and value-compatible with the standard library.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

# A non-integer number in PostgreSQL's jsonb text: jsonb never uses exponent form, so it ends
# in "." + digits right before ",", "}", "]" or the end of the text. orjson formats floats
# differently from the standard library. A match inside a string value only sends the text
# down the standard library path, which is always exact. (The pattern starts with a literal
# ".", which the regex engine scans for quickly.)
_DECIMAL_IN_JSONB_TEXT = re.compile(r"\.[0-9]+(?:[,}\]]|$)")
# orjson reads an integer beyond 64 bits as a float; such an integer has 19+ digits in a row.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


def _has_long_digit_run(text: str) -> bool:
    return _NINETEEN_DIGITS in text.encode().translate(_DIGITS_TO_ZERO)


def compact_json(text: str) -> str:
    """``json.dumps(json.loads(text), separators=(",", ":"))`` of jsonb text, byte for byte.

    orjson writes the same bytes as the standard library for ASCII strings, 64-bit integers,
    bools, nulls, arrays and objects (same escapes, same key order). It differs on non-ASCII
    text and DEL (the standard library escapes them as ``\\uXXXX``), on float formatting and
    on integers beyond 64 bits (read as floats, written with "e+"), so those take the
    standard library path.
    """
    if text.isascii() and "\x7f" not in text and _DECIMAL_IN_JSONB_TEXT.search(text) is None:
        compact = orjson.dumps(orjson.loads(text))
        if b"e+" not in compact:  # no integer overflowed into a float
            return compact.decode()
    return json.dumps(json.loads(text), separators=(",", ":"))


def load_json(text: str) -> Any:
    """``json.loads`` with orjson's speed; both read floats the same (correctly rounded)."""
    if _has_long_digit_run(text):
        return json.loads(text)  # an integer beyond 64 bits stays an exact int
    return orjson.loads(text)  # raises a ValueError subclass when malformed, as json does


# The fields of a stream entry, in the order they are written.
STREAM_FIELDS = (
    "event_id",
    "position",
    "aggregate_id",
    "aggregate_version",
    "event_type",
    "schema_version",
    "occurred_at",
    "headers",
    "payload",
)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One outbox row as projectors see it."""

    event_id: UUID
    position: int
    aggregate_id: UUID
    aggregate_version: int
    event_type: str
    schema_version: int
    occurred_at: datetime
    headers: dict[str, Any]
    payload: dict[str, Any]
    stream_id: str = ""

    def to_fields(self) -> dict[str, str]:
        """Flat string fields for XADD."""
        return {
            "event_id": str(self.event_id),
            "position": str(self.position),
            "aggregate_id": str(self.aggregate_id),
            "aggregate_version": str(self.aggregate_version),
            "event_type": self.event_type,
            "schema_version": str(self.schema_version),
            "occurred_at": self.occurred_at.isoformat(),
            "headers": json.dumps(self.headers, separators=(",", ":")),
            "payload": json.dumps(self.payload, separators=(",", ":")),
        }

    @classmethod
    def from_fields(cls, stream_id: str, fields: dict[str, str]) -> StreamEvent:
        """Parse an XREADGROUP entry; raises ValueError/KeyError on a malformed one."""
        return cls(
            event_id=UUID(fields["event_id"]),
            position=int(fields["position"]),
            aggregate_id=UUID(fields["aggregate_id"]),
            aggregate_version=int(fields["aggregate_version"]),
            event_type=fields["event_type"],
            schema_version=int(fields["schema_version"]),
            occurred_at=datetime.fromisoformat(fields["occurred_at"]),
            headers=load_json(fields["headers"]),
            payload=load_json(fields["payload"]),
            stream_id=stream_id,
        )

    def to_entry(self) -> dict[str, Any]:
        """JSON-ready form, for the dead-letter table."""
        return {"stream_id": self.stream_id, **self.to_fields()}


def outbox_fields(
    event_id: str,
    position: int,
    aggregate_id: str,
    aggregate_version: int,
    event_type: str,
    schema_version: int,
    occurred_at: datetime,
    headers_text: str,
    payload_text: str,
) -> dict[str, str]:
    """The XADD fields of an outbox row read with its JSON columns as text.

    Equal to ``StreamEvent.to_fields()`` of the same row, without parsing the JSON into dicts.
    """
    return {
        "event_id": event_id,
        "position": str(position),
        "aggregate_id": aggregate_id,
        "aggregate_version": str(aggregate_version),
        "event_type": event_type,
        "schema_version": str(schema_version),
        "occurred_at": occurred_at.isoformat(),
        "headers": compact_json(headers_text),
        "payload": compact_json(payload_text),
    }
