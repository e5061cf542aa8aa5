"""The relay's fast path writes the same stream fields as the event's own ``to_fields``.

The relay reads ``headers``/``payload`` as jsonb text and compacts it without building dicts;
projectors and stored dead letters depend on the exact bytes, so every kind of JSON value
that takes a different path (non-ASCII, DEL, control characters, decimals, huge integers)
is compared with what parsing the jsonb and ``json.dumps``-ing it gives.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from orders_cqrs.db.outbox import CLAIM_SQL, row_to_event
from orders_cqrs.relay.wire import StreamEvent, compact_json, outbox_fields

PAYLOADS: list[Any] = [
    {"order": {"status": "PLACED", "total": {"amount": 4499}, "items": [], "notes": []}},
    {"order": {"name": "José Müller 東京 🚀", "line1": "Straße 1"}},
    {"note": 'tab\there, newline\nthere, quote " backslash \\ and \x01\x1f and DEL \x7f'},
    {"amount": 1.5, "ratio": [0.25, 1.0, -3.125], "nested": {"x": 10.0}},
    {"big": 123456789012345678901234567890, "neg": -9223372036854775808},
    {"string_like_decimal": "1.5,", "ts": "2026-11-29T16:19:57.776133+00:00"},
    {"empty": {}, "list": [[], [{}]], "t": True, "f": False, "n": None},
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_fast_stream_fields_equal_the_events_own_fields(
    db: psycopg.Connection[Any], payload: Any
) -> None:
    db.execute(
        "INSERT INTO outbox (event_id, aggregate_id, aggregate_version, event_type,"
        " schema_version, headers, payload) VALUES (%s, %s, 1, 'OrderPlaced', 1, %s, %s)",
        (uuid.uuid4(), uuid.uuid4(), Jsonb({"actor": "checkout:ab", "ü": 1}), Jsonb(payload)),
    )
    with db.transaction():
        fast = db.execute(CLAIM_SQL, (10,)).fetchall()
    # The event as the driver parses the jsonb columns: the reference wire format.
    reference = db.execute(
        "SELECT event_id, position, aggregate_id, aggregate_version, event_type,"
        " schema_version, occurred_at, headers, payload FROM outbox"
    ).fetchall()
    assert len(fast) == len(reference) == 1
    (event_id, position, aggregate_id, version, kind, schema, at, headers, body) = reference[0]
    expected = StreamEvent(
        event_id, position, aggregate_id, version, kind, schema, at, headers, body
    ).to_fields()
    assert outbox_fields(*fast[0]) == expected
    assert row_to_event(fast[0]).to_fields() == expected
    assert StreamEvent.from_fields("1-0", expected).payload == payload


def test_compact_json_matches_the_standard_library_on_jsonb_text(
    db: psycopg.Connection[Any],
) -> None:
    for payload in PAYLOADS:
        row = db.execute("SELECT %s::jsonb::text", (Jsonb(payload),)).fetchone()
        assert row is not None
        text = row[0]
        assert compact_json(text) == json.dumps(json.loads(text), separators=(",", ":"))
