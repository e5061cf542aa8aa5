"""Invariant 4, optimistic concurrency: If-Match, 412 on stale versions, one event per version."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import (
    SUPPORT_KEY,
    authorize,
    command,
    headers,
    order_body,
    place,
    put_product,
)
from tests.helpers.processes import ApiServer


def _authorized_order(base_url: str) -> str:
    """An order at version 2."""
    put_product(base_url, "SKU-OCC", on_hand=10)
    placed = place(base_url, order_body(items=[("SKU-OCC", 1)]))
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["order_id"])
    authorized = authorize(base_url, order_id)
    assert authorized.json()["version"] == 2, authorized.text
    return order_id


def _note(base_url: str, order_id: str, key: str, **extra: str) -> httpx.Response:
    return command(base_url, order_id, "notes", key, SUPPORT_KEY, {"body": f"note {key}"}, **extra)


def _state(db: psycopg.Connection[Any], order_id: str) -> tuple[Any, ...]:
    row = db.execute(
        """
        SELECT o.version, o.status,
               (SELECT count(*) FROM outbox e WHERE e.aggregate_id = o.id),
               (SELECT count(*) FROM support_notes n WHERE n.order_id = o.id)
          FROM orders o WHERE o.id = %s
        """,
        (order_id,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_stale_if_match_is_refused_with_412_and_changes_nothing(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _authorized_order(api.url)
    before = _state(db, order_id)
    assert before == (2, "AUTHORIZED", 2, 0)

    refused = _note(api.url, order_id, "stale-note", **{"If-Match": '"1"'})

    assert refused.status_code == 412
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "/problems/version-conflict"
    assert problem["current_version"] == 2
    assert "ETag" not in refused.headers
    assert _state(db, order_id) == before
    audit = db.execute(
        "SELECT command, outcome, problem_type, order_id::text, version_before, version_after"
        " FROM audit_log WHERE idempotency_key = 'stale-note'"
    ).fetchall()
    assert audit == [("add_support_note", "rejected", "version-conflict", order_id, 2, None)]


def test_matching_if_match_succeeds_and_the_etag_names_the_new_version(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _authorized_order(api.url)
    response = _note(api.url, order_id, "fresh-note", **{"If-Match": '"2"'})
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == '"3"'
    assert response.json()["version"] == 3
    assert _state(db, order_id) == (3, "AUTHORIZED", 3, 1)


def test_a_412_does_not_use_up_the_idempotency_key(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _authorized_order(api.url)
    assert _note(api.url, order_id, "same-key", **{"If-Match": '"1"'}).status_code == 412
    retried = _note(api.url, order_id, "same-key", **{"If-Match": '"2"'})
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    assert _state(db, order_id) == (3, "AUTHORIZED", 3, 1)


@pytest.mark.parametrize("value", ["abc", '"-1"', '"1", "2"', '"v2"'])
def test_malformed_if_match_is_a_422_problem_and_changes_nothing(
    api: ApiServer, db: psycopg.Connection[Any], value: str
) -> None:
    order_id = _authorized_order(api.url)
    response = _note(api.url, order_id, "bad-if-match", **{"If-Match": value})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/validation"
    assert response.json()["status"] == 422
    assert _state(db, order_id) == (2, "AUTHORIZED", 2, 0)


async def _parallel_notes(
    base_url: str, order_id: str, count: int, **extra: str
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        start = asyncio.Event()

        async def note(n: int) -> httpx.Response:
            await start.wait()
            return await client.post(
                f"/v1/orders/{order_id}/notes",
                json={"body": f"parallel note {n}"},
                headers=headers(SUPPORT_KEY, f"parallel-{n}", **extra),
            )

        tasks = [asyncio.create_task(note(n)) for n in range(count)]
        await asyncio.sleep(0.2)
        start.set()
        return list(await asyncio.gather(*tasks))


def test_concurrent_commands_on_one_order_get_consecutive_versions(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    put_product(api.url, "SKU-OCC", on_hand=10)
    order_id = str(place(api.url, order_body(items=[("SKU-OCC", 1)])).json()["order_id"])

    responses = asyncio.run(_parallel_notes(api.url, order_id, 20))

    assert Counter(r.status_code for r in responses) == {201: 20}
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 22))
    assert sorted(r.headers["ETag"] for r in responses) == sorted(f'"{v}"' for v in range(2, 22))
    versions = db.execute(
        "SELECT aggregate_version FROM outbox WHERE aggregate_id = %s ORDER BY aggregate_version",
        (order_id,),
    ).fetchall()
    assert [v for (v,) in versions] == list(range(1, 22))
    assert _state(db, order_id) == (21, "PENDING_PAYMENT", 21, 20)
    audit = db.execute(
        "SELECT version_before, version_after FROM audit_log"
        " WHERE command = 'add_support_note' AND outcome = 'accepted' ORDER BY version_before"
    ).fetchall()
    assert audit == [(v, v + 1) for v in range(1, 21)]


def test_concurrent_commands_naming_the_same_version_let_exactly_one_win(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    order_id = _authorized_order(api.url)

    responses = asyncio.run(_parallel_notes(api.url, order_id, 10, **{"If-Match": '"2"'}))

    assert Counter(r.status_code for r in responses) == {201: 1, 412: 9}
    for refused in (r for r in responses if r.status_code == 412):
        assert refused.json()["current_version"] == 3
    assert _state(db, order_id) == (3, "AUTHORIZED", 3, 1)
    audit = dict(
        db.execute(
            "SELECT outcome, count(*) FROM audit_log WHERE command = 'add_support_note'"
            " GROUP BY outcome"
        ).fetchall()
    )
    assert audit == {"accepted": 1, "rejected": 9}
