"""The relay's wake-up: only the first commit after the relay went idle sends a NOTIFY.

A NOTIFY per checkout would serialise commits on PostgreSQL's notification-queue lock, so
the outbox trigger notifies only when an idle relay has armed ``relay_wakeup``.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from tests.helpers.stores import plain_dsn

INSERT = (
    "INSERT INTO outbox (event_id, aggregate_id, aggregate_version, event_type,"
    " schema_version, headers, payload) VALUES (%s, %s, %s, 'SupportNoteAdded', 1, '{}', '{}')"
)


def _insert(database_url: str, version: int, *, commit: bool = True) -> None:
    with psycopg.connect(plain_dsn(database_url)) as writer:
        writer.execute(INSERT, (uuid.uuid4(), uuid.UUID(int=1), version))
        if commit:
            writer.commit()
        else:
            writer.rollback()


def test_only_the_first_commit_after_arming_notifies(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    with psycopg.connect(plain_dsn(database_url), autocommit=True) as listener:
        listener.execute("LISTEN orders_outbox")
        db.execute("UPDATE relay_wakeup SET armed = true")  # what an idle relay does

        _insert(database_url, 1, commit=False)
        assert list(listener.notifies(timeout=0.5)) == []  # rolled back: nobody is woken
        assert db.execute("SELECT armed FROM relay_wakeup").fetchone() == (True,)

        _insert(database_url, 2)
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == ["orders_outbox"]
        assert db.execute("SELECT armed FROM relay_wakeup").fetchone() == (False,)

        _insert(database_url, 3)  # the relay is busy (disarmed): no NOTIFY, it polls
        assert list(listener.notifies(timeout=0.5)) == []


def test_relay_wakeup_is_one_row(db: psycopg.Connection[Any]) -> None:
    assert db.execute("SELECT id FROM relay_wakeup").fetchall() == [(1,)]
