"""Rebuilds from the ops page: started after a confirmation, refused clearly while one runs
anywhere (the PostgreSQL lease the API's 409 comes from), followed on the page from the
rebuild's state in PostgreSQL until its outcome."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import redis

from tests.helpers.api import OPS_KEY, headers
from tests.helpers.processes import ApiServer
from tests.helpers.rebuilds import rebuild_lease_held
from tests.helpers.seeding import seed_orders
from tests.helpers.stores import TEST_REDIS_URL

OPS = headers(OPS_KEY)
ORDERS = 3000  # enough that the first rebuild still scans when the second is asked for


def live_part(api: ApiServer) -> str:
    """What the page's refresh fetches."""
    got = httpx.get(f"{api.url}/ops", params={"partial": "1"}, headers=OPS, timeout=30)
    assert got.status_code == 200, got.text
    return got.text


def rebuild_item(html: str, name: str) -> str:
    found = re.search(rf'<li data-rebuild-of="{name}".*?</li>', html, re.S)
    assert found is not None, html
    return found.group(0)


def confirmation_key(api: ApiServer, name: str) -> str:
    confirm = httpx.get(f"{api.url}/ops/rebuilds/{name}", headers=OPS, timeout=30)
    assert confirm.status_code == 200, confirm.text
    assert f"Rebuild {name}?" in confirm.text and "Readers switch" in confirm.text
    found = re.search(r'name="idempotency_key" value="([^"]+)"', confirm.text)
    assert found is not None, confirm.text
    return found.group(1)


def start(api: ApiServer, name: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{api.url}/ops/rebuilds/{name}", data={"idempotency_key": key}, headers=OPS, timeout=60
    )


def test_a_rebuild_started_from_the_page_refuses_a_second_and_the_page_shows_its_outcome(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    seed_orders(database_url, ORDERS)
    api = start_api()
    first, second = confirmation_key(api, "summary"), confirmation_key(api, "summary")

    started = start(api, "summary", first)
    assert started.status_code == 303 and started.headers["location"] == "/ops#rebuilds"
    refused = start(api, "summary", second)
    assert refused.status_code == 409, refused.text
    assert "Not started: a rebuild of summary is already running" in refused.text
    assert "started by ops:" in refused.text
    assert 'id="confirm-rebuild"' not in refused.text  # no button to try again meanwhile

    deadline = time.monotonic() + 120
    item = rebuild_item(live_part(api), "summary")
    while 'data-state="done"' not in item:
        assert 'data-state="running"' in item, item  # never failed, never interrupted
        assert time.monotonic() < deadline, item
        time.sleep(0.2)
        item = rebuild_item(live_part(api), "summary")
    events = db.execute("SELECT count(*) FROM outbox").fetchone()
    assert events is not None and events[0] >= ORDERS
    assert "v1 → v2" in item and f"{events[0]} events scanned" in item, item
    store = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    assert store.get("summary:active") == "v2"
    assert "no rebuild running" in live_part(api)


async def test_a_rebuild_running_elsewhere_shows_its_progress_and_refuses_a_start(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    api = start_api()
    key = confirmation_key(api, "summary")
    async with rebuild_lease_held(database_url, "summary", "cli rebuild-host") as (_, lease):
        await lease.planned(old="v1", new="v2", group="summary-rebuild-v2")
        await lease.progress(40, 100)

        item = rebuild_item(live_part(api), "summary")
        assert 'data-state="running"' in item and "started by cli rebuild-host" in item
        assert 'max="100" value="40"' in item and "40 of 100 events scanned (40 %)" in item
        assert "rebuilding summary" in live_part(api)
        confirm = httpx.get(f"{api.url}/ops/rebuilds/summary", headers=OPS, timeout=30)
        assert 'id="rebuild-running"' in confirm.text and 'id="confirm-rebuild"' not in confirm.text

        refused = start(api, "summary", key)
        assert refused.status_code == 409, refused.text
        assert "a rebuild of summary is already running" in refused.text
        assert "started by cli rebuild-host" in refused.text and "40 of 100 events" in refused.text

        await lease.progress(100)
        await lease.finished(100)
    item = rebuild_item(live_part(api), "summary")
    assert 'data-state="done"' in item and "v1 → v2" in item, item


def test_rebuild_starts_refuse_unknown_projections_and_forms_from_elsewhere(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    key = confirmation_key(api, "summary")
    unknown = start(api, "nope", key)
    assert unknown.status_code == 404 and "text/html" in unknown.headers["content-type"]
    analytics = httpx.get(f"{api.url}/ops/rebuilds/analytics", headers=OPS, timeout=30)
    assert analytics.status_code == 404  # analytics is off in this process
    forged = httpx.post(
        f"{api.url}/ops/rebuilds/summary",
        data={"idempotency_key": key},
        headers={**OPS, "Origin": "https://evil.example"},
    )
    assert forged.status_code == 403
    stale = start(api, "summary", "")
    assert stale.status_code == 400 and "expired" in stale.text
    assert db.execute("SELECT count(*) FROM projection_rebuilds").fetchone() == (0,)
