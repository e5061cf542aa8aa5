"""The support console, in a real browser and over plain HTTP: a staff member signs in,
searches, views an order and adds a note signed with their name."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import expect, sync_playwright

from orders_cqrs.readmodels.search.index import ALIAS
from tests.helpers.api import (
    SUPPORT_KEY,
    headers,
    order_body,
    place,
    place_one,
    put_product,
)
from tests.helpers.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.helpers.processes import ApiServer
from tests.helpers.staff import GRACE, OLU, PASSWORD, add_staff, staff_client
from tests.helpers.stores import OPENSEARCH_URL, ROOT

OPENSEARCH = OPENSEARCH_URL
EMAIL = "grace.hopper@example.com"


def _opensearch_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        host_port = OPENSEARCH.rsplit("/", 1)[-1].split(":")
        return sock.connect_ex((host_port[0], int(host_port[1]))) == 0


@pytest.fixture
def fresh_search_index() -> None:
    """No support index from an earlier test: the ``db`` fixture does not touch OpenSearch."""
    if not _opensearch_up():
        subprocess.run([str(ROOT / "scripts" / "services"), "start", "opensearch"], check=True)
    found = httpx.get(
        f"{OPENSEARCH}/_cat/indices/orders-support-*", params={"format": "json"}, timeout=10
    )
    found.raise_for_status()
    for index in found.json():
        httpx.delete(f"{OPENSEARCH}/{index['index']}", timeout=30).raise_for_status()


def require_prefix_analysis() -> None:
    """The support index needs OpenSearch's analysis-common module (edge n-grams)."""
    probe = httpx.post(
        f"{OPENSEARCH}/_analyze",
        json={
            "tokenizer": "standard",
            "filter": [{"type": "edge_ngram", "min_gram": 2, "max_gram": 4}],
            "text": "grace",
        },
        timeout=10,
    )
    if probe.status_code != 200:
        pytest.fail(
            f"OpenSearch on {OPENSEARCH} cannot analyze with edge_ngram (the analysis-common"
            " module is missing), so the search projector cannot install the support index"
            f" template: {probe.text[:300]}"
        )


@dataclass
class Console:
    """A running API (which serves the console) with the relay and the projectors behind it."""

    api: ApiServer

    @property
    def url(self) -> str:
        return self.api.url


@pytest.fixture
def console(
    fresh_search_index: None, start_pipeline: Callable[..., ApiServer], database_url: str
) -> Console:
    require_prefix_analysis()
    running = Console(start_pipeline(projections=("summary", "search")))
    add_staff(database_url, *GRACE)
    return running


def grace_order(customer_id: str, items: list[tuple[str, int]]) -> dict[str, Any]:
    body = order_body(items=items, customer_id=customer_id, email=EMAIL)
    body["customer"]["name"] = "Grace Hopper"
    body["shipping_address"].update(region="Bavaria", city="Munich", postal_code="80331")
    return body


def wait_searchable(base_url: str, query: str, count: int, seconds: float = 45) -> None:
    """Wait for the search projector's index, then poll the search API for ``count`` hits."""
    deadline = time.monotonic() + seconds
    while httpx.get(f"{OPENSEARCH}/_alias/{ALIAS}", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, f"the search projector never created {ALIAS}"
        time.sleep(0.2)
    total = None
    while time.monotonic() < deadline:
        found = httpx.get(
            f"{base_url}/v1/support/orders",
            params={"q": query},
            headers=headers(SUPPORT_KEY),
            timeout=10,
        )
        if found.status_code == 200:
            total = found.json()["total"]
            if total == count:
                return
        time.sleep(0.2)
    raise AssertionError(f"{query!r} matched {total} orders, never {count}")


def test_a_staff_member_finds_orders_by_email_prefix_and_adds_a_signed_note_in_the_browser(
    console: Console,
) -> None:
    put_product(console.url, "SKU-WEB-MUG", on_hand=10, price=1250)
    put_product(console.url, "SKU-WEB-TEA", on_hand=10, price=899)
    customer = str(uuid.uuid4())
    first = place(console.url, grace_order(customer, [("SKU-WEB-MUG", 2)]))
    second = place(console.url, grace_order(customer, [("SKU-WEB-TEA", 3), ("SKU-WEB-MUG", 1)]))
    assert first.status_code == second.status_code == 201, first.text + second.text
    older, newer = first.json()["order_id"], second.json()["order_id"]
    wait_searchable(console.url, "grace.ho", 2)
    note = "Customer called: gift-wrap the mug. <b>not bold</b> & fine"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)

            page.goto(f"{console.url}/support")
            expect(page).to_have_url(re.compile(r"/support/login\?next="))
            page.get_by_label("Email").fill(GRACE[1])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_label("Search orders")).to_be_visible()

            search = page.get_by_label("Search orders")
            expect(search).to_be_focused()  # autofocus
            page.keyboard.press("Escape")
            expect(search).not_to_be_focused()
            page.keyboard.press("/")
            expect(search).to_be_focused()
            page.keyboard.type("grace.ho")
            page.keyboard.press("Enter")
            expect(page).to_have_url(re.compile(r"/support\?q=grace\.ho"))
            results = page.locator("[data-result]")
            expect(results).to_have_count(2)
            expect(results.first).to_contain_text("Grace Hopper")
            expect(results.first).to_contain_text(EMAIL)
            expect(results.first).to_contain_text(newer.split("-")[0])
            expect(results.first).to_contain_text("39.47 EUR")  # 3 × 8.99 + 12.50, newest first
            expect(results.nth(1)).to_contain_text("25.00 EUR")
            expect(results.first.locator("mark").first).to_have_text(re.compile("^grace"))
            expect(page.get_by_text(re.compile(r"Search index lag: \d+ events?"))).to_be_visible()

            page.keyboard.press("ArrowDown")
            expect(results.first).to_be_focused()
            page.keyboard.press("j")
            expect(results.nth(1)).to_be_focused()
            page.keyboard.press("k")
            expect(results.first).to_be_focused()
            page.keyboard.press("Enter")

            expect(page).to_have_url(f"{console.url}/support/orders/{newer}")
            expect(page.locator(".freshness")).to_contain_text(
                re.compile(r"as of version 1, [\d.]+ (s|min) ago")
            )
            expect(page.get_by_role("heading", name="Other orders")).to_be_visible()
            expect(page.locator(f'a[href="/support/orders/{older}"]')).to_be_visible()
            expect(page.locator("tbody tr")).to_have_count(2)

            page.get_by_label("Add a note").fill(note)
            page.get_by_role("button", name="Add note").click()
            expect(page).to_have_url(
                re.compile(rf"/support/orders/{newer}\?min_version=2$"), timeout=20_000
            )
            expect(page.locator(".note-body")).to_have_text(note, timeout=20_000)
            expect(page.locator(".freshness")).to_contain_text("as of version 2")
            expect(page.locator(".note-author")).to_have_text("Grace Hopper")
            expect(page.locator(".note-body b")).to_have_count(0)

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "support-order.png"
            shot.unlink(missing_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.is_file() and shot.stat().st_size > 0


@contextmanager
def agent_client(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in as Grace (as the console's script posts: JSON)."""
    with staff_client(base_url, GRACE[1]) as client:
        yield client


def test_the_console_needs_a_support_account_and_keeps_its_session_in_a_strict_cookie(
    db: psycopg.Connection[Any],
    database_url: str,
    fresh_search_index: None,
    start_api: Callable[..., ApiServer],
) -> None:
    add_staff(database_url, *GRACE)
    add_staff(database_url, *OLU)
    api = start_api()
    with httpx.Client(base_url=api.url, follow_redirects=False, timeout=15) as anonymous:
        home = anonymous.get("/support")
        assert home.status_code == 303
        assert home.headers["location"] == "/support/login?next=%2Fsupport"
        order = anonymous.get(f"/support/orders/{uuid.uuid4()}")
        assert order.status_code == 303 and order.headers["location"].startswith("/support/login")
        login_page = anonymous.get("/support/login")
        assert login_page.status_code == 200
        assert 'type="password"' in login_page.text and 'type="email"' in login_page.text

        wrong_role = anonymous.post("/support/login", json={"email": OLU[1], "password": PASSWORD})
        assert wrong_role.status_code == 403
        assert wrong_role.headers["content-type"].startswith("text/html")
        assert "signs in at /ops" in wrong_role.text
        assert "set-cookie" not in wrong_role.headers
        a_key = anonymous.post("/support/login", json={"api_key": SUPPORT_KEY})
        assert a_key.status_code == 422 and "API keys are for machines" in a_key.text
        unknown = anonymous.post("/support/login", json={"email": GRACE[1], "password": "nope"})
        assert unknown.status_code == 401 and "do not match" in unknown.text

    forged_cookie = {"orders_support": "support:x|9999999999|00"}
    with httpx.Client(base_url=api.url, cookies=forged_cookie) as forged:
        assert forged.get("/support", follow_redirects=False).status_code == 303

    with agent_client(api.url) as agent:
        cookie = next(c for c in agent.cookies.jar if c.name == "orders_support")
        assert PASSWORD not in (cookie.value or "")
        home = agent.get("/support")
        assert home.status_code == 200, home.text
        assert "Content-Security-Policy" in home.headers
        assert home.headers["cache-control"] == "no-store"
        assert agent.get("/support/orders/not-a-uuid").status_code == 404
        missing = agent.get(f"/support/orders/{uuid.uuid4()}")
        assert missing.status_code == 404 and "Order not found" in missing.text
        assert agent.post("/support/logout").status_code == 303
        assert agent.get("/support").status_code == 303

    raw = httpx.post(f"{api.url}/support/login", json={"email": GRACE[1], "password": PASSWORD})
    set_cookie = raw.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    assert "path=/support" in set_cookie
    schema = httpx.get(f"{api.url}/openapi.json").json()
    assert not [path for path in schema["paths"] if path.startswith("/support")]
    assert httpx.get(f"{api.url}/static/support.css").status_code == 200


def test_a_bad_note_is_shown_again_with_its_reason_and_a_lagging_read_catches_up(
    db: psycopg.Connection[Any], database_url: str, start_pipeline: Callable[..., ApiServer]
) -> None:
    api = start_pipeline(read_wait_budget_seconds="0.3")
    add_staff(database_url, *GRACE)
    put_product(api.url, "SKU-WEB-MUG", on_hand=10, price=1250)
    order_id = place_one(api.url, "SKU-WEB-MUG")
    with agent_client(api.url) as agent:
        page = agent.get(f"/support/orders/{order_id}", params={"min_version": 1})
        deadline = time.monotonic() + 20
        while page.status_code == 503 and time.monotonic() < deadline:
            page = agent.get(f"/support/orders/{order_id}", params={"min_version": 1})
        assert page.status_code == 200, page.text
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
        assert key is not None

        notes = f"/support/orders/{order_id}/notes"
        empty = agent.post(notes, json={"body": "   ", "idempotency_key": key.group(1)})
        assert empty.status_code == 422 and "the note is empty" in empty.text
        long = agent.post(notes, json={"body": "x" * 2001, "idempotency_key": key.group(1)})
        assert long.status_code == 422 and "at most 2000 characters" in long.text
        no_key = agent.post(notes, json={"body": "hello"})
        assert no_key.status_code == 422 and "form expired" in no_key.text
        garbage = agent.post(notes, content=b"\xff{", headers={"content-type": "application/json"})
        assert garbage.status_code == 422

        saved = agent.post(notes, json={"body": "called back", "idempotency_key": key.group(1)})
        assert saved.status_code == 303
        assert saved.headers["location"] == f"/support/orders/{order_id}?min_version=2"
        again = agent.post(notes, json={"body": "called back", "idempotency_key": key.group(1)})
        assert again.headers["location"] == saved.headers["location"]  # a double submit: one note
        assert db.execute("SELECT count(*) FROM support_notes").fetchone() == (1,)

        # The page's timeline is the write side's history: both events, who sent them, in order.
        current = agent.get(f"/support/orders/{order_id}", params={"min_version": 2})
        deadline = time.monotonic() + 20
        while current.status_code == 503 and time.monotonic() < deadline:
            current = agent.get(f"/support/orders/{order_id}", params={"min_version": 2})
        assert current.status_code == 200, current.text
        timeline = current.text.split('id="history"', 1)[1]
        placed, noted = timeline.index("OrderPlaced"), timeline.index("SupportNoteAdded")
        assert placed < noted and "add_support_note" in timeline and "Grace Hopper" in timeline

        ahead = agent.get(f"/support/orders/{order_id}", params={"min_version": 99})
        assert ahead.status_code == 503 and "Catching up" in ahead.text
        assert "data-catching-up" in ahead.text and "called back" not in ahead.text
        assert "SKU-WEB-MUG" not in ahead.text  # never older data as if it were current
