"""Invariant 2, one order per idempotency key: concurrent duplicates, mismatches, expiry, scope."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import CHECKOUT_KEY, headers, order_body, place, put_product
from tests.helpers.processes import ApiServer, run_cli


async def _same_request(
    base_url: str, body: dict[str, Any], key: str, count: int
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        start = asyncio.Event()

        async def send() -> httpx.Response:
            await start.wait()
            return await client.post("/v1/orders", json=body, headers=headers(CHECKOUT_KEY, key))

        tasks = [asyncio.create_task(send()) for _ in range(count)]
        await asyncio.sleep(0.2)
        start.set()
        return list(await asyncio.gather(*tasks))


def test_hundred_concurrent_duplicates_create_one_order_with_identical_bodies(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    put_product(api.url, "SKU-DUP", on_hand=500)
    body = order_body(items=[("SKU-DUP", 1)])

    responses = asyncio.run(_same_request(api.url, body, "dup-key-1", 100))

    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    replays = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replays) == 99
    assert db.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    assert db.execute("SELECT reserved FROM products").fetchone() == (1,)


def test_replay_returns_stored_status_body_and_headers(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    put_product(api.url, "SKU-DUP", on_hand=5)
    body = order_body(items=[("SKU-DUP", 2)])
    first = place(api.url, body, key="replay-1")
    again = place(api.url, body, key="replay-1")
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again.headers["ETag"] == first.headers["ETag"] == '"1"'
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


def test_same_key_with_a_different_body_is_refused_and_changes_nothing(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    put_product(api.url, "SKU-DUP", on_hand=5)
    assert place(api.url, order_body(items=[("SKU-DUP", 1)]), key="mismatch").status_code == 201
    refused = place(api.url, order_body(items=[("SKU-DUP", 2)]), key="mismatch")
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/idempotency-mismatch")
    assert db.execute("SELECT count(*), sum(total) FROM orders").fetchone() == (1, 1000)
    assert db.execute(
        "SELECT count(*) FROM audit_log WHERE outcome = 'rejected' AND problem_type = 'idempotency-mismatch'"
    ).fetchone() == (1,)


def test_a_held_key_answers_before_a_refusal_of_the_new_body(
    api: ApiServer, db: psycopg.Connection[Any]
) -> None:
    """The key's claim travels with the command's first reads, but is still decided first:
    a reused key with a body the domain would refuse before reading anything is a mismatch,
    and a replay of an order whose stock has since run out is still the stored 201."""
    put_product(api.url, "SKU-DUP", on_hand=1)
    body = order_body(items=[("SKU-DUP", 1)])
    first = place(api.url, body, key="held-first")
    assert first.status_code == 201
    refused = place(
        api.url, order_body(items=[("SKU-DUP", 1)], provider="no-such-provider"), key="held-first"
    )
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/idempotency-mismatch")
    replayed = place(api.url, body, key="held-first")  # the only unit of stock is reserved
    assert (replayed.status_code, replayed.content) == (201, first.content)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert db.execute("SELECT count(*), sum(reserved) FROM orders, products").fetchone() == (1, 1)


def test_an_expired_key_can_be_used_again(api: ApiServer, db: psycopg.Connection[Any]) -> None:
    put_product(api.url, "SKU-DUP", on_hand=5)
    first = place(api.url, order_body(items=[("SKU-DUP", 1)]), key="expiring")
    db.execute("UPDATE idempotency_receipts SET expires_at = now() - interval '1 second'")
    second = place(api.url, order_body(items=[("SKU-DUP", 1)]), key="expiring")
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.json()["order_id"] != second.json()["order_id"]
    assert db.execute("SELECT count(*) FROM orders").fetchone() == (2,)


def test_keys_are_scoped_per_api_client(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    server = start_api(api_keys="checkout:ck_one,checkout:ck_two,ops:ok_dev_ops_key")
    put_product(server.url, "SKU-DUP", on_hand=5)
    body = order_body(items=[("SKU-DUP", 1)])
    one = httpx.post(f"{server.url}/v1/orders", json=body, headers=headers("ck_one", "shared"))
    two = httpx.post(f"{server.url}/v1/orders", json=body, headers=headers("ck_two", "shared"))
    assert one.status_code == two.status_code == 201
    assert one.json()["order_id"] != two.json()["order_id"]


def test_cleanup_removes_expired_receipts_only(
    api: ApiServer, db: psycopg.Connection[Any], database_url: str
) -> None:
    put_product(api.url, "SKU-DUP", on_hand=5)
    place(api.url, order_body(items=[("SKU-DUP", 1)]), key="old")
    place(api.url, order_body(items=[("SKU-DUP", 1)]), key="fresh")
    db.execute(
        "UPDATE idempotency_receipts SET expires_at = now() - interval '1 hour' WHERE key = 'old'"
    )
    out = run_cli(database_url, "cleanup")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "removed 1 expired" in out.stdout
    keys = {row[0] for row in db.execute("SELECT key FROM idempotency_receipts").fetchall()}
    assert "old" not in keys
    assert "fresh" in keys


def test_concurrent_duplicates_across_worker_processes_create_one_order(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    """``api --workers 2``: the receipt's unique index serialises duplicates in any process."""
    api = start_api(api_workers="2")
    put_product(api.url, "SKU-DUP", on_hand=500)
    body = order_body(items=[("SKU-DUP", 1)])

    responses = asyncio.run(_same_request(api.url, body, "dup-key-workers", 60))

    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 59
    assert db.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    assert db.execute("SELECT reserved FROM products").fetchone() == (1,)
