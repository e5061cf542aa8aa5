"""Two rebuilds of one projection never run at once, whichever processes start them.

A rebuild deletes the generation it builds and reads the stream through a group named after
it. Two of them together (the CLI and an API replica) used to delete each other's half-built
index and switch readers to a copy missing everything scanned before the delete. The lease is
a PostgreSQL lock taken before anything is deleted, and its state is in PostgreSQL, so every
process refuses a second rebuild and reports the running one.

The search read model lives under an alias of its own here (``ORDERS_SEARCH_ALIAS``):
OpenSearch is shared, and other suites reset the default alias's indexes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
import redis

from tests.helpers.api import OPS_KEY, headers
from tests.helpers.problems import assert_problem
from tests.helpers.processes import ApiServer, Worker, run_cli, worker_env
from tests.helpers.rebuilds import rebuild_lease_held, search_pipeline_with_orders
from tests.helpers.search import opensearch_client
from tests.helpers.stores import ROOT, TEST_REDIS_URL
from tests.helpers.stream_checks import assert_verified
from tests.helpers.waiting import wait_until

ORDERS = 5000
ALIAS = "orders-chaos-rebuild"
SEARCH = {"search_alias": ALIAS}
STREAM = "orders.events"

pytestmark = pytest.mark.slow


def start_cli_rebuild(database_url: str, name: str) -> subprocess.Popen[str]:
    """``orders-cqrs rebuild <name>`` as its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "orders_cqrs.entrypoints.cli", "rebuild", name],
        cwd=ROOT,
        env={**os.environ, **worker_env(database_url, SEARCH)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def rebuild_groups(store: redis.Redis) -> list[str]:
    """The rebuild groups on the stream right now."""
    try:
        groups = store.xinfo_groups(STREAM)
    except redis.ResponseError:
        return []
    return [g["name"] for g in groups if "-rebuild-" in g["name"]]


def last_rebuild(base_url: str, name: str) -> dict[str, Any] | None:
    """The ``rebuild`` member of ``name`` in GET /v1/projections."""
    listing = httpx.get(f"{base_url}/v1/projections", headers=headers(OPS_KEY), timeout=10)
    assert listing.status_code == 200, listing.text
    entry = next(p for p in listing.json()["projections"] if p["name"] == name)
    rebuild: dict[str, Any] | None = entry["rebuild"]
    return rebuild


def test_a_cli_rebuild_and_an_http_rebuild_half_a_second_apart_only_one_runs(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    database_url: str,
) -> None:
    api, _ = search_pipeline_with_orders(
        start_api, start_worker, database_url, alias=ALIAS, orders=ORDERS
    )
    store = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)

    # The CLI process needs seconds to start on a busy machine: the HTTP rebuild is asked for
    # 0.5 s after the CLI's rebuild began (its group on the stream says it is scanning).
    cli = start_cli_rebuild(database_url, "search")
    try:
        wait_until(lambda: bool(rebuild_groups(store)), 60, "the CLI rebuild's group", 0.02)
        time.sleep(0.5)
        second = httpx.post(
            f"{api.url}/v1/projections/search/rebuild",
            headers=headers(OPS_KEY, str(uuid.uuid4())),
            timeout=30,
        )
        out, err = cli.communicate(timeout=300)
    finally:
        if cli.poll() is None:
            cli.kill()

    problem = assert_problem(second, 409, "rebuild-running")
    assert "started by cli " in problem["detail"], problem
    assert cli.returncode == 0, out + err
    assert f"{ALIAS}-v1 → {ALIAS}-v2" in out, out

    # Every process sees the one rebuild that ran, from PostgreSQL.
    record = last_rebuild(api.url, "search")
    assert record is not None and record["state"] == "done", record
    assert record["started_by"].startswith("cli "), record
    assert record["new_generation"] == f"{ALIAS}-v2", record
    assert record["scanned"] == record["total"] and record["total"] >= ORDERS, record
    client = opensearch_client()
    try:
        assert set(client.indices.get_alias(name=ALIAS)) == {f"{ALIAS}-v2"}
    finally:
        client.close()
    assert rebuild_groups(store) == []

    assert_verified(database_url, ORDERS, ("search",), wait=90, settings=SEARCH)


async def _hold_lease(database_url: str, held: asyncio.Event, release: asyncio.Event) -> None:
    """Hold the summary's rebuild lease, as a rebuild in another process would."""
    async with rebuild_lease_held(database_url, "summary", "another rebuild"):
        held.set()
        await release.wait()


def test_a_cli_rebuild_refused_by_a_running_one_says_who_and_changes_nothing(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    store = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    store.set("summary:active", "v1")
    store.set("summary:v2:order:leftover", "kept")  # what a delete would remove

    async def scenario() -> subprocess.CompletedProcess[str]:
        held, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(_hold_lease(database_url, held, release))
        await asyncio.wait_for(held.wait(), 30)
        try:
            return await asyncio.to_thread(run_cli, database_url, "rebuild", "summary")
        finally:
            release.set()
            await holder

    refused = asyncio.run(scenario())
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "a rebuild of summary is already running" in refused.stderr, refused.stderr
    assert "started by another rebuild" in refused.stderr, refused.stderr
    assert store.get("summary:active") == "v1"
    assert store.get("summary:v2:order:leftover") == "kept"
    assert rebuild_groups(store) == []
