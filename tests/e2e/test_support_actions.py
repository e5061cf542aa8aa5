"""Acting from the support console in Debian's Chromium: a partial refund through its
confirmation step, and a filtered, sorted search paged forward and back with a freshness dot
on every row."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.helpers.api import (
    OPS_KEY,
    authorize,
    command,
    order_body,
    place,
    put_product,
)
from tests.helpers.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.helpers.processes import ApiServer, Worker
from tests.helpers.search import drain_stderr, wait_for_support_index, wait_searchable
from tests.helpers.staff import GRACE, PASSWORD, add_staff

SKU = "SKU-E2E-LAMP"
PAGE_SIZE = 20  # the console's search page size


@pytest.fixture
def console(
    db: psycopg.Connection[Any],
    fresh_search_state: None,
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    database_url: str,
) -> ApiServer:
    """The API serving the console, with the relay, summary and search projectors behind it,
    and Grace, a support agent with an account."""
    add_staff(database_url, *GRACE)
    api = drain_stderr(start_api())
    start_worker("relay")
    start_worker("project", "summary")
    wait_for_support_index(start_worker("project", "search"))
    put_product(api.url, SKU, on_hand=1000, price=1250)
    return api


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def signed_in(browser: Browser, base_url: str, target: str) -> Page:
    """A page signed in to the support console, showing ``target``."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    page.goto(f"{base_url}{target}")
    expect(page).to_have_url(re.compile(r"/support/login\?next="))
    page.get_by_label("Email").fill(GRACE[1])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/support/login"))
    return page


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_an_agent_refunds_part_of_an_order_after_reviewing_it(console: ApiServer) -> None:
    placed = place(console.url, order_body(items=[(SKU, 2)]))
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["order_id"])
    assert authorize(console.url, order_id).status_code == 200
    assert command(console.url, order_id, "capture", str(uuid.uuid4()), OPS_KEY).status_code == 200

    with chromium() as browser:
        page = signed_in(browser, console.url, f"/support/orders/{order_id}?min_version=3")
        actions = page.locator("#actions")
        expect(actions).to_contain_text("Refundable now: 25.00 EUR")
        actions.get_by_label(re.compile("^Amount")).fill("7.50")
        actions.get_by_label("Reason").fill("arrived a week late")
        actions.get_by_role("button", name="Review refund…").click()

        review = page.locator("[data-review=refund]")
        expect(review.locator("[data-amount]")).to_have_text("7.50 EUR")
        expect(review.locator("[data-remaining]")).to_have_text("17.50 EUR")
        screenshot(page, "support-refund-review.png")
        page.get_by_role("button", name="Refund 7.50 EUR").click()

        done = page.locator("[data-done=refund]")
        expect(done.get_by_role("heading")).to_have_text("Refunded 7.50 EUR")
        expect(done.locator("[data-new-version]")).to_have_text("4")
        expect(done.locator("[data-remaining]")).to_have_text("17.50 EUR")
        page.get_by_role("link", name="Back to the order").click()

        expect(page).to_have_url(re.compile(rf"/support/orders/{order_id}\?min_version=4$"))
        expect(page.locator(".freshness")).to_contain_text("as of version 4", timeout=20_000)
        refunds = page.locator("#h-refunds").locator("xpath=..")
        expect(refunds).to_contain_text("arrived a week late")
        expect(refunds).to_contain_text("7.50 EUR")
        expect(page.locator("#actions")).to_contain_text("Refundable now: 17.50 EUR")
        # The timeline names the person who refunded.
        refunded = page.locator(".timeline-entry").filter(has_text="RefundIssued")
        expect(refunded.locator(".timeline-actor")).to_have_text("Grace Hopper")


def shown_ids(page: Page) -> list[str]:
    """The order ids of the result rows, top to bottom."""
    codes = page.locator("[data-result] .r-id code")
    return list(codes.evaluate_all("els => els.map(e => e.title)"))


def test_a_country_filtered_sorted_search_pages_forward_and_back_with_freshness_dots(
    console: ApiServer,
) -> None:
    us = [place(console.url, order_body(items=[(SKU, 1)], country="US")) for _ in range(23)]
    de = [place(console.url, order_body(items=[(SKU, 1)], country="DE")) for _ in range(2)]
    assert all(r.status_code == 201 for r in us + de)
    us_ids = [str(r.json()["order_id"]) for r in us]  # placed oldest first
    with httpx.Client(base_url=console.url, timeout=30) as client:
        wait_searchable(client, {str(r.json()["order_id"]): 1 for r in us + de})

    with chromium() as browser:
        page = signed_in(browser, console.url, "/support")
        page.get_by_label("Country").fill("US")
        page.get_by_label("Sort").select_option(label="Oldest first")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"country=US.*sort=oldest|sort=oldest.*country=US"))

        rows = page.locator("[data-result]")
        expect(rows).to_have_count(PAGE_SIZE)
        first_page = shown_ids(page)
        assert first_page == us_ids[:PAGE_SIZE]  # US only, oldest first
        dots = page.locator("[data-result] [data-freshness]")
        expect(dots).to_have_count(PAGE_SIZE)
        # Never colour alone: every dot has a title and words for screen readers.
        for title in dots.evaluate_all("els => els.map(e => e.title)"):
            assert re.match(r"Up to date: the index holds version 1, the latest\.", title)
        expect(dots.first.locator(".visually-hidden")).to_have_text("freshness: current")
        assert set(dots.evaluate_all("els => els.map(e => e.dataset.freshness)")) == {"fresh"}
        expect(dots.first.locator(".dot")).to_have_class(re.compile(r"\bdot-ok\b"))

        page.get_by_role("link", name="Next page →").click()
        expect(rows).to_have_count(len(us_ids) - PAGE_SIZE)
        assert shown_ids(page) == us_ids[PAGE_SIZE:]
        expect(page.get_by_role("link", name="Next page →")).to_have_count(0)

        page.get_by_role("link", name="← Previous page").click()
        expect(rows).to_have_count(PAGE_SIZE)
        assert shown_ids(page) == first_page
        expect(page).to_have_url(re.compile(r"before="))
        expect(page.get_by_label("Country")).to_have_value("US")
        expect(page.get_by_label("Sort")).to_have_value("oldest")
        expect(page.get_by_role("link", name="← Previous page")).to_have_count(0)
        screenshot(page, "support-search-paged.png")
