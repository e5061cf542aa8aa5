"""The ops page acting, in Debian's Chromium: an operator drills from a stuck-orders cell to
an order's support page, and replays a dead letter from the page after its confirmation.
Screen readers hear only the page's one-line summary on refresh, and the skip link takes
keyboard focus to the main content."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from playwright.sync_api import Page, expect, sync_playwright

from tests.helpers.api import (
    place_in,
    put_product,
    read_order,
    wait_analytics_applied,
)
from tests.helpers.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.helpers.dead_letters import publish_poison, repair_poison, wait_parked
from tests.helpers.processes import ApiServer
from tests.helpers.staff import GRACE, OLU, PASSWORD, add_staff
from tests.helpers.waiting import wait_until_projected

CARD, WALLET = "sandbox-card", "sandbox-wallet"


def sign_in_to_ops(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/ops")
    expect(page).to_have_url(f"{base_url}/ops/login")
    page.fill("#email", OLU[1])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base_url}/ops")


def test_an_operator_drills_to_an_order_and_replays_a_dead_letter_after_confirming(
    db: psycopg.Connection[Any],
    start_pipeline: Callable[..., ApiServer],
    tmp_path: Path,
    database_url: str,
) -> None:
    add_staff(database_url, *OLU)
    add_staff(database_url, *GRACE)
    api = start_pipeline(
        projections=("summary",),
        relay={"relay_poll_seconds": "0.2"},
        projector={"projection_max_attempts": "3", "projection_retry_base_seconds": "0.05"},
        clickhouse_url=f"chdb://{tmp_path / 'chdb'}",
        stuck_authorizing_seconds="1",
        stuck_authorized_seconds="1",
        projection_block_ms="200",
    )
    put_product(api.url, "SKU-OPS-ACT", on_hand=50)
    berlin = [place_in(api.url, "SKU-OPS-ACT", "Berlin", CARD) for _ in range(2)]
    madrid = place_in(api.url, "SKU-OPS-ACT", "Madrid", WALLET)
    for order_id in [*berlin, madrid]:
        wait_until_projected(api.url, order_id, 1, seconds=60)  # the projector starts slowly
    wait_analytics_applied(api.url, applied=3)

    # A poison event of the Madrid order: the summary projector retries it, then parks it.
    poison = publish_poison(db, madrid, version=2)
    letter = wait_parked(db, poison)
    repair_poison(db, letter, madrid, version=2)  # the cause is fixed; the letter waits
    time.sleep(1.1)  # the orders are past their 1 s SLAs

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in_to_ops(page, api.url)
        page.goto(f"{api.url}/ops")  # a fresh load: the keyboard starts at the top

        # Only the one-line summary is live; the refreshed tables are outside it.
        live = page.locator("[aria-live]")
        expect(live).to_have_count(1)
        expect(live).to_have_attribute("id", "ops-status")
        expect(live).to_have_attribute("aria-live", "polite")
        summary = r"^3 stuck orders · \d+ open dead letters? · no rebuild running$"
        expect(live).to_have_text(re.compile(summary))
        assert live.locator("table, section, #live").count() == 0
        assert page.locator("#live").get_attribute("aria-live") is None
        expect(page.locator("#live #stuck-grid")).to_be_visible()

        # The skip link is the first stop of the keyboard and moves focus to the main content.
        page.keyboard.press("Tab")
        skip = page.locator("a.skip-link")
        expect(skip).to_be_focused()
        expect(skip).to_have_text("Skip to main content")
        page.keyboard.press("Enter")
        expect(page.locator("main#main")).to_be_focused()

        # Drill: the cell lists its orders; one of them opens in the support console.
        page.locator(
            f'#stuck-grid td[data-region="Berlin"][data-provider="{CARD}"] a.cell-link'
        ).click()
        expect(page).to_have_url(re.compile(r"/ops/stuck\?region=Berlin&provider=sandbox-card$"))
        rows = page.locator("#stuck-orders tbody tr")
        expect(rows).to_have_count(2)
        assert {rows.nth(n).get_attribute("data-order-id") for n in range(2)} == set(berlin)
        page.screenshot(path=str(ARTIFACTS / "ops-drill.png"), full_page=True)
        page.locator(f'#stuck-orders a[href="/support/orders/{berlin[0]}"]').click()
        expect(page).to_have_url(re.compile(r"/support/login\?next="))  # its own sign-in
        page.fill("#email", GRACE[1])  # a support account: the console of refunds
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{api.url}/support/orders/{berlin[0]}")
        expect(page.locator("main")).to_contain_text(berlin[0][:8])

        # Replay: the letter is listed with its failures; the confirmation says what runs.
        page.goto(f"{api.url}/ops")
        row = page.locator(f'#dead-letters tr[data-dead-letter="{letter}"]')
        expect(row).to_contain_text("OrderNoted")
        expect(row).to_contain_text(poison)
        expect(row).to_contain_text("KeyError")
        row.get_by_role("link", name=re.compile("Replay dead letter")).click()
        expect(page.locator("#confirm-title")).to_have_text("Replay 1 dead letter of summary?")
        expect(page.locator(f'#confirm tr[data-dead-letter="{letter}"]')).to_contain_text(poison)
        assert read_order(api.url, madrid).json()["version"] == 1  # nothing ran yet
        page.screenshot(path=str(ARTIFACTS / "ops-replay-confirm.png"), full_page=True)
        page.click("#confirm-replay")
        expect(page.locator("#replay-result")).to_contain_text("1 of 1 replayed.")
        page.screenshot(path=str(ARTIFACTS / "ops-replayed.png"), full_page=True)
        browser.close()
    assert errors == []

    replayed = read_order(api.url, madrid, min_version=2)
    assert replayed.status_code == 200 and replayed.json()["version"] == 2, replayed.text
    assert replayed.json()["freshness"]["last_event_id"] == poison
    closed = db.execute(
        "SELECT replayed_at IS NOT NULL FROM projection_dead_letters WHERE id = %s", (letter,)
    ).fetchone()
    assert closed == (True,)
