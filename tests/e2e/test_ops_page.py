"""The ops page in a real browser: sign in with an ops staff account, read the stuck-orders grid
(region × provider, coloured by age), the orders/declines chart and projection lag, and watch
the page refresh itself when a new order gets stuck."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from playwright.sync_api import Page, expect, sync_playwright

from tests.helpers.api import (
    OPS_KEY,
    SUPPORT_KEY,
    authorize,
    headers,
    place_in,
    put_product,
    wait_analytics_applied,
)
from tests.helpers.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.helpers.processes import ApiServer
from tests.helpers.staff import GRACE, OLU, PASSWORD, add_staff

CARD, WALLET = "sandbox-card", "sandbox-wallet"


def cell(page: Page, region: str, provider: str) -> Any:
    return page.locator(f'#stuck-grid td[data-region="{region}"][data-provider="{provider}"]')


def test_the_ops_page_shows_the_stuck_grid_and_chart_and_refreshes_itself(
    dashboards_api: ApiServer, database_url: str
) -> None:
    api = dashboards_api
    add_staff(database_url, *GRACE)
    add_staff(database_url, *OLU)
    put_product(api.url, "SKU-OPS", on_hand=100)
    for region, provider, count in (
        ("Berlin", CARD, 2),
        ("Berlin", WALLET, 1),
        ("Bavaria", CARD, 1),
        ("Madrid", WALLET, 3),
    ):
        for _ in range(count):
            place_in(api.url, "SKU-OPS", region, provider)
    authorize(api.url, place_in(api.url, "SKU-OPS", "Bavaria", WALLET))
    for _ in range(2):
        authorize(api.url, place_in(api.url, "SKU-OPS", "Madrid", CARD, token="tok_decline"))
    wait_analytics_applied(api.url, applied=13)  # 10 placed, 1 authorized, 2 declined
    time.sleep(1.1)  # past the 1 s SLAs

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        page.goto(f"{api.url}/ops?window=1h")
        expect(page).to_have_url(f"{api.url}/ops/login")
        page.fill("#email", GRACE[1])
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text(
            "This account signs in at /support, not here."
        )
        page.fill("#email", OLU[1])
        page.fill("#password", PASSWORD)
        errors.clear()  # the refused sign-in above was a 403 on purpose
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{api.url}/ops")
        expect(page.locator(".session")).to_contain_text("Olu Operator")
        page.goto(f"{api.url}/ops?window=1h")

        expect(page.locator("[data-stuck-total]")).to_have_text("8")
        expected = {
            ("Berlin", CARD): "2",
            ("Berlin", WALLET): "1",
            ("Bavaria", CARD): "1",
            ("Bavaria", WALLET): "1",
            ("Madrid", WALLET): "3",
            ("Madrid", CARD): "0",
        }
        for (region, provider), shown in expected.items():
            expect(cell(page, region, provider)).to_have_attribute("data-count", shown)
        expect(cell(page, "Madrid", WALLET)).to_have_class("cell age-1")  # seconds old
        expect(cell(page, "Madrid", CARD)).to_have_class("cell age-0")
        chart = page.locator("#orders-chart svg.chart")
        expect(chart).to_be_visible()
        assert chart.locator("rect.bar-orders").count() >= 2  # bars + legend swatch
        assert chart.locator("rect.bar-declines").count() >= 2
        expect(page.locator("#chart-desc")).to_contain_text("10 orders placed and 2 payments")
        analytics = page.locator('#projections tr[data-projection="analytics"]')
        expect(analytics).to_be_visible()
        expect(analytics.locator("td").first).to_have_text("0")  # lag in events

        place_in(api.url, "SKU-OPS", "Berlin", CARD)  # one more, to be picked up by the refresh
        expect(cell(page, "Berlin", CARD)).to_have_attribute("data-count", "3", timeout=25_000)
        expect(page.locator("[data-stuck-total]")).to_have_text("9")
        page.screenshot(path=str(ARTIFACTS / "ops-page.png"), full_page=True)
        browser.close()
    assert errors == []


def test_the_ops_page_answers_scripts_with_an_ops_bearer_key_only(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], tmp_path: Path
) -> None:
    api = start_api(clickhouse_url=f"chdb://{tmp_path / 'chdb'}")
    page = httpx.get(f"{api.url}/ops", headers=headers(OPS_KEY))
    assert page.status_code == 200 and "Stuck orders" in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    refused = httpx.get(f"{api.url}/ops", headers=headers(SUPPORT_KEY))
    assert refused.status_code == 303 and refused.headers["location"] == "/ops/login"
    live = httpx.get(f"{api.url}/ops", params={"partial": "1"})
    assert live.status_code == 401
