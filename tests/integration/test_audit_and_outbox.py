"""Invariants 3 and 6: one audit row and one outbox row per accepted command, committed together;
refusals are audited but leave no state; the audit log is append-only; the outbox wakes LISTENers.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import (
    CHECKOUT_KEY,
    OPS_KEY,
    SUPPORT_KEY,
    command,
    headers,
    order_body,
    put_product,
)
from tests.helpers.processes import ApiServer
from tests.helpers.stores import plain_dsn

TRACEPARENT = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")


def client_id(role: str, key: str) -> str:
    """The actor the API records for a key (role + digest prefix, never the key)."""
    return f"{role}:{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def _place(base_url: str, key: str, items: list[tuple[str, int]], **extra: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/orders",
        json=order_body(items=items),
        headers=headers(CHECKOUT_KEY, key, **extra),
    )


def test_every_accepted_command_writes_one_audit_row_and_one_matching_outbox_row(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    put_product(api.url, "SKU-AUD", on_hand=5, price=700)
    traces = [new_traceparent() for _ in range(7)]
    placed = _place(api.url, "k-place", [("SKU-AUD", 2)], traceparent=traces[0])
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["order_id"])
    steps = [  # (verb, role, key, body)
        ("authorize", "checkout", CHECKOUT_KEY, None),
        ("capture", "ops", OPS_KEY, None),
        ("ship", "ops", OPS_KEY, {"carrier": "DHL", "tracking_number": "JD0001"}),
        ("deliver", "ops", OPS_KEY, None),
        (
            "refunds",
            "support",
            SUPPORT_KEY,
            {"amount": {"amount": 300, "currency": "EUR"}, "reason": "late"},
        ),
        ("notes", "support", SUPPORT_KEY, {"body": "customer called"}),
    ]
    for n, (verb, _, key, body) in enumerate(steps, start=1):
        response = command(api.url, order_id, verb, f"k-{verb}", key, body, traceparent=traces[n])
        assert response.status_code in (200, 201), (verb, response.text)
        assert response.json()["version"] == n + 1

    audit = db.execute(
        "SELECT actor, command, idempotency_key, version_before, version_after, outcome, command_id"
        " FROM audit_log WHERE order_id = %s ORDER BY id",
        (order_id,),
    ).fetchall()
    actors = [client_id("checkout", CHECKOUT_KEY)] + [client_id(r, k) for _, r, k, _ in steps]
    commands = ["place_order", "authorize_payment", "capture_payment", "ship_order"]
    commands += ["deliver_order", "issue_refund", "add_support_note"]
    keys = ["k-place"] + [f"k-{verb}" for verb, *_ in steps]
    befores: list[int | None] = [None, 1, 2, 3, 4, 5, 6]
    expected = list(
        zip(actors, commands, keys, befores, range(1, 8), ["accepted"] * 7, strict=True)
    )
    assert [row[:6] for row in audit] == expected
    assert len({row[6] for row in audit}) == 7

    outbox = db.execute(
        """
        SELECT e.event_type, e.headers->>'command_id', e.headers->>'actor',
               e.headers->>'command', e.headers->>'traceparent',
               pg_xact_status(e.txid), e.occurred_at = a.occurred_at
          FROM outbox e JOIN audit_log a
            ON a.order_id = e.aggregate_id AND a.version_after = e.aggregate_version
         WHERE e.aggregate_id = %s ORDER BY e.aggregate_version
        """,
        (order_id,),
    ).fetchall()
    types = ["OrderPlaced", "PaymentAuthorized", "PaymentCaptured", "OrderShipped"]
    types += ["OrderDelivered", "RefundIssued", "SupportNoteAdded"]
    command_ids = [str(row[6]) for row in audit]
    assert outbox == list(
        zip(
            types, command_ids, actors, commands, traces, ["committed"] * 7, [True] * 7, strict=True
        )
    )
    # The last event and the order row it describes were written by one transaction.
    same_tx = db.execute(
        "SELECT (e.txid::text::numeric %% 4294967296) = o.xmin::text::numeric"
        " FROM outbox e JOIN orders o ON o.id = e.aggregate_id"
        " WHERE e.aggregate_id = %s AND e.aggregate_version = o.version",
        (order_id,),
    ).fetchone()
    assert same_tx == (True,)


def _stored_traceparents(
    base_url: str, db: psycopg.Connection[Any], sent: dict[str, str | None]
) -> dict[str, str]:
    """Place one order per case; the traceparent its outbox row carries."""
    put_product(base_url, "SKU-AUD", on_hand=50)
    stored: dict[str, str] = {}
    for case, value in sent.items():
        extra = {} if value is None else {"traceparent": value}
        placed = _place(base_url, f"k-{case}", [("SKU-AUD", 1)], **extra)
        assert placed.status_code == 201, (case, placed.text)
        row = db.execute(
            "SELECT headers->>'traceparent' FROM outbox WHERE aggregate_id = %s",
            (placed.json()["order_id"],),
        ).fetchone()
        assert row is not None
        stored[case] = row[0]
    return stored


def _replaced_by_valid(sent: dict[str, str | None], stored: dict[str, str]) -> dict[str, bool]:
    return {case: bool(TRACEPARENT.match(tp)) and tp != sent[case] for case, tp in stored.items()}


def test_a_traceparent_is_generated_when_absent_or_malformed(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    sent: dict[str, str | None] = {
        "absent": None,
        "garbage": "not-a-traceparent",
        "uppercase": f"00-{'A' * 32}-{'B' * 16}-01",
        "short-id": f"00-{'1' * 31}-{'2' * 16}-01",
    }
    stored = _stored_traceparents(api.url, db, sent)
    assert _replaced_by_valid(sent, stored) == dict.fromkeys(sent, True), stored
    assert len(set(stored.values())) == len(sent)  # a new root trace for every request


def test_w3c_invalid_traceparent_values_are_not_propagated(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    # W3C Trace Context §3.2.2: all-zero trace-id or parent-id, and version ff, are invalid;
    # a receiver must not continue such a trace but start a new one.
    sent: dict[str, str | None] = {
        "zero-trace-id": f"00-{'0' * 32}-{'1' * 16}-01",
        "zero-parent-id": f"00-{'1' * 32}-{'0' * 16}-01",
        "version-ff": f"ff-{'1' * 32}-{'2' * 16}-01",
    }
    stored = _stored_traceparents(api.url, db, sent)
    assert _replaced_by_valid(sent, stored) == dict.fromkeys(sent, True), stored


def test_audit_log_refuses_update_and_delete(api: ApiServer, db: psycopg.Connection[Any]) -> None:
    put_product(api.url, "SKU-AUD", on_hand=5)
    assert _place(api.url, "k-append", [("SKU-AUD", 1)]).status_code == 201
    before = db.execute("SELECT * FROM audit_log ORDER BY id").fetchall()
    assert len(before) == 2  # put_product, place_order
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        db.execute("UPDATE audit_log SET outcome = 'rejected'")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        db.execute("DELETE FROM audit_log WHERE command = 'place_order'")
    assert db.execute("SELECT * FROM audit_log ORDER BY id").fetchall() == before


def test_outbox_notifies_listeners_only_after_commit(
    api: ApiServer, db: psycopg.Connection[Any], database_url: str
) -> None:
    put_product(api.url, "SKU-AUD", on_hand=5)
    with psycopg.connect(plain_dsn(database_url), autocommit=True) as listener:
        listener.execute("LISTEN orders_outbox")
        # No relay runs here: arm the wake-up as an idle relay does (only then is a commit
        # announced; see test_relay_wakeup.py).
        db.execute("UPDATE relay_wakeup SET armed = true")
        assert _place(api.url, "k-notify", [("SKU-AUD", 1)]).status_code == 201
        woken = list(listener.notifies(timeout=5, stop_after=1))
        assert [n.channel for n in woken] == ["orders_outbox"]
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (1,)

        row = db.execute("SELECT aggregate_id FROM outbox").fetchone()
        assert row is not None
        insert = (
            "INSERT INTO outbox (event_id, aggregate_id, aggregate_version, event_type,"
            " schema_version, headers, payload) VALUES (%s, %s, %s, 'SupportNoteAdded', 1, '{}', '{}')"
        )
        db.execute("UPDATE relay_wakeup SET armed = true")  # the relay went idle again
        with psycopg.connect(plain_dsn(database_url)) as writer:
            writer.execute(insert, (uuid.uuid4(), row[0], 98))
            writer.rollback()
            writer.execute(insert, (uuid.uuid4(), row[0], 99))
            assert list(listener.notifies(timeout=0.5)) == []  # uncommitted: nobody is woken
            writer.commit()
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == ["orders_outbox"]


def test_a_rejected_command_leaves_an_audit_row_and_nothing_else(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    put_product(api.url, "SKU-AUD-A", on_hand=5)
    put_product(api.url, "SKU-AUD-B", on_hand=1)
    refused = _place(api.url, "k-refused", [("SKU-AUD-A", 2), ("SKU-AUD-B", 2)])
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/out-of-stock"
    assert refused.json()["sku"] == "SKU-AUD-B"

    audit = db.execute(
        "SELECT actor, command, idempotency_key, outcome, problem_type, version_after,"
        " order_id IS NOT NULL FROM audit_log WHERE command = 'place_order'"
    ).fetchall()
    assert audit == [
        (
            client_id("checkout", CHECKOUT_KEY),
            "place_order",
            "k-refused",
            "rejected",
            "out-of-stock",
            None,
            True,
        )
    ]
    for table in ("orders", "order_lines", "payments", "outbox", "idempotency_receipts"):
        where = " WHERE command <> 'put_product'" if table == "idempotency_receipts" else ""
        assert db.execute(f"SELECT count(*) FROM {table}{where}").fetchone() == (0,), table
    stock = db.execute("SELECT sku, reserved FROM products ORDER BY sku").fetchall()
    assert stock == [("SKU-AUD-A", 0), ("SKU-AUD-B", 0)]

    put_product(api.url, "SKU-AUD-B", on_hand=2)
    again = _place(api.url, "k-refused", [("SKU-AUD-A", 2), ("SKU-AUD-B", 2)])
    assert again.status_code == 201, again.text  # the refusal did not use up the key
    assert "Idempotent-Replayed" not in again.headers
