"""The ops page acts: a stuck-orders cell opens exactly its orders, and dead letters are
replayed from the page (one, or all of a projection) after a confirmation, through the same
admin operation as the JSON API. Real API processes, PostgreSQL, Redis and chDB."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import redis

from tests.helpers.api import OPS_KEY, authorize, headers, place_in, place_one, put_product
from tests.helpers.dead_letters import open_dead_letters, park_outbox_event, park_poison
from tests.helpers.processes import ApiServer
from tests.helpers.stores import TEST_REDIS_URL

CARD, WALLET = "sandbox-card", "sandbox-wallet"
OPS = headers(OPS_KEY)


def ops_get(api: ApiServer, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{api.url}{path}", params=params, headers=OPS, timeout=30)


def ops_post(api: ApiServer, path: str, fields: dict[str, str], **extra: str) -> httpx.Response:
    """A form post as the page's form sends it (urlencoded), as an ops principal."""
    return httpx.post(f"{api.url}{path}", data=fields, headers={**OPS, **extra}, timeout=60)


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of the page's form."""
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', html))


def attribute_values(html: str, name: str) -> list[str]:
    return re.findall(rf'{name}="([^"]*)"', html)


def wait_analytics(api: ApiServer, applied: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = httpx.get(f"{api.url}/v1/projections", headers=OPS).json()
        status = next(p for p in listed["projections"] if p["name"] == "analytics")
        if status["applied"] >= applied and status["lag_events"] == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"analytics never applied {applied} events: {status}")


def test_a_grid_cell_opens_exactly_the_stuck_orders_of_that_cell(
    dashboards_api: ApiServer,
) -> None:
    api = dashboards_api
    put_product(api.url, "SKU-DRILL", on_hand=50)
    berlin_card = {place_in(api.url, "SKU-DRILL", "Berlin", CARD) for _ in range(3)}
    berlin_wallet = {place_in(api.url, "SKU-DRILL", "Berlin", WALLET)}
    madrid_card = {place_in(api.url, "SKU-DRILL", "Madrid", CARD)}
    authorized = place_in(api.url, "SKU-DRILL", "Berlin", CARD)
    authorize(api.url, authorized)
    berlin_card.add(authorized)
    wait_analytics(api, applied=7)  # 6 placed, 1 authorized
    time.sleep(1.1)  # past the 1 s SLAs

    grid = ops_get(api, "/ops")
    assert grid.status_code == 200, grid.text
    assert "/ops/stuck?region=Berlin&amp;provider=sandbox-card" in grid.text

    cell = ops_get(api, "/ops/stuck", region="Berlin", provider=CARD)
    assert cell.status_code == 200, cell.text
    listed = attribute_values(cell.text, "data-order-id")
    assert set(listed) == berlin_card and len(listed) == len(berlin_card)
    for order_id in berlin_card:
        assert f'href="/support/orders/{order_id}"' in cell.text
    assert re.search(r"data-drill-total>4<", cell.text), cell.text
    assert "badge-authorized" in cell.text and "badge-pending_payment" in cell.text

    other = ops_get(api, "/ops/stuck", region="Berlin", provider=WALLET)
    assert set(attribute_values(other.text, "data-order-id")) == berlin_wallet
    madrid = ops_get(api, "/ops/stuck", region="Madrid", provider=CARD)
    assert set(attribute_values(madrid.text, "data-order-id")) == madrid_card
    empty = ops_get(api, "/ops/stuck", region="Madrid", provider=WALLET)
    assert empty.status_code == 200 and 'id="no-stuck"' in empty.text
    assert attribute_values(empty.text, "data-order-id") == []


def test_the_drill_down_refuses_bad_input_with_a_page_and_strangers_with_the_sign_in(
    dashboards_api: ApiServer,
) -> None:
    api = dashboards_api
    no_cell = ops_get(api, "/ops/stuck", region="Berlin")
    assert no_cell.status_code == 400 and "text/html" in no_cell.headers["content-type"]
    too_long = ops_get(api, "/ops/stuck", region="R" * 500, provider=CARD)
    assert too_long.status_code == 400 and "R" * 500 not in too_long.text
    stranger = httpx.get(f"{api.url}/ops/stuck", params={"region": "Berlin", "provider": CARD})
    assert stranger.status_code == 303 and stranger.headers["location"] == "/ops/login"


def test_the_ops_page_lists_open_dead_letters_with_their_failures(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    put_product(api.url, "SKU-DLQ-PAGE", on_hand=5)
    order_id = place_one(api.url, "SKU-DLQ-PAGE")
    letter, event_id = park_outbox_event(db, order_id)

    page = ops_get(api, "/ops")
    assert page.status_code == 200, page.text
    row = re.search(rf'<tr data-dead-letter="{letter}".*?</tr>', page.text, re.S)
    assert row is not None, page.text
    shown = row.group(0)
    assert event_id in shown and "OrderPlaced" in shown
    assert f'href="/support/orders/{order_id}"' in shown
    assert "ConnectionError" in shown and ">5<" in shown  # the error and the attempts
    first, last = re.findall(r'<time datetime="([^"]+)"', shown)
    assert first < last  # parked 5 minutes after the first failure
    assert f'href="/ops/dead-letters/summary/replay?id={letter}"' in shown
    assert "1 open dead letter" in page.text


def test_replaying_one_dead_letter_then_all_from_the_page_applies_them_and_closes_them(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    # No relay runs: the summary gets these orders only from the replays.
    api = start_api()
    store = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    put_product(api.url, "SKU-DLQ-REPLAY", on_hand=10)
    orders = [place_one(api.url, "SKU-DLQ-REPLAY") for _ in range(3)]
    letters = [park_outbox_event(db, order_id)[0] for order_id in orders]

    # One: the confirmation names exactly that event, and the replay applies it alone.
    confirm = ops_get(api, "/ops/dead-letters/summary/replay", id=str(letters[0]))
    assert confirm.status_code == 200, confirm.text
    assert attribute_values(confirm.text, "data-dead-letter") == [str(letters[0])]
    assert "Replay 1 dead letter of summary?" in confirm.text
    fields = hidden_fields(confirm.text)
    assert fields["ids"] == str(letters[0])
    done = ops_post(api, "/ops/dead-letters/summary/replay", fields)
    assert done.status_code == 200, done.text
    assert re.search(r"1 of 1 replayed\.", done.text), done.text
    assert open_dead_letters(db) == letters[1:]
    assert store.hget(f"summary:v1:order:{orders[0]}", "source_version") == "1"
    assert not store.exists(f"summary:v1:order:{orders[1]}")

    # The same confirmation sent again gets its first answer; nothing runs twice.
    again = ops_post(api, "/ops/dead-letters/summary/replay", fields)
    assert again.status_code == 200 and "sent before" in again.text, again.text
    audit = db.execute(
        "SELECT count(*), min(actor) FROM audit_log WHERE command = 'replay_dead_letters'"
    ).fetchone()
    assert audit is not None and audit[0] == 1 and audit[1].startswith("ops:"), audit

    # All: the confirmation lists every open letter of the projection, and replays them.
    confirm_all = ops_get(api, "/ops/dead-letters/summary/replay")
    assert attribute_values(confirm_all.text, "data-dead-letter") == [str(n) for n in letters[1:]]
    done_all = ops_post(api, "/ops/dead-letters/summary/replay", hidden_fields(confirm_all.text))
    assert re.search(r"2 of 2 replayed\.", done_all.text), done_all.text
    assert open_dead_letters(db) == []
    for order_id in orders:
        assert store.hget(f"summary:v1:order:{order_id}", "source_version") == "1"
    page = ops_get(api, "/ops")
    assert 'id="no-dead-letters"' in page.text and "0 open dead letters" in page.text


def test_a_dead_letter_that_fails_again_stays_open_with_the_page_saying_so(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    put_product(api.url, "SKU-DLQ-POISON", on_hand=5)
    order_id = place_one(api.url, "SKU-DLQ-POISON")
    letter, _ = park_poison(db, order_id, version=2)

    confirm = ops_get(api, "/ops/dead-letters/summary/replay", id=str(letter))
    done = ops_post(api, "/ops/dead-letters/summary/replay", hidden_fields(confirm.text))
    assert done.status_code == 200, done.text
    assert re.search(r"0 of 1 replayed, 1 still failing\.", done.text), done.text
    assert f'data-dead-letter="{letter}"' in done.text and "KeyError" in done.text
    assert open_dead_letters(db) == [letter]
    attempts = db.execute(
        "SELECT attempts, first_failed_at < failed_at FROM projection_dead_letters WHERE id = %s",
        (letter,),
    ).fetchone()
    assert attempts == (6, True)  # one more attempt; the first failure kept


def test_replay_forms_from_another_site_or_tampered_with_change_nothing(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    put_product(api.url, "SKU-DLQ-CSRF", on_hand=5)
    letter, _ = park_outbox_event(db, place_one(api.url, "SKU-DLQ-CSRF"))
    fields = {"ids": str(letter), "idempotency_key": str(uuid.uuid4())}

    forged = ops_post(
        api, "/ops/dead-letters/summary/replay", fields, Origin="https://evil.example"
    )
    assert forged.status_code == 403 and "another site" in forged.text
    cross = ops_post(
        api, "/ops/dead-letters/summary/replay", fields, **{"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    for bad in ({"ids": "1;DROP", "idempotency_key": "k"}, {"ids": str(letter)}, {}):
        refused = ops_post(api, "/ops/dead-letters/summary/replay", bad)
        assert refused.status_code == 400 and "text/html" in refused.headers["content-type"]
    unknown = ops_post(api, "/ops/dead-letters/nope/replay", fields)
    assert unknown.status_code == 404
    stranger = httpx.post(f"{api.url}/ops/dead-letters/summary/replay", data=fields)
    assert stranger.status_code == 303 and stranger.headers["location"] == "/ops/login"
    assert open_dead_letters(db) == [letter]
