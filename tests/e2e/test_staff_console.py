"""A named staff member in a real browser (Debian's Chromium): their note carries their name
on the page, in the order's history and in the audit log; disabling them from the CLI sends
their open page to the sign-in form on its next load; six bad passwords get a 429."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
from playwright.sync_api import Page, expect, sync_playwright

from tests.helpers.api import SUPPORT_KEY, headers, place_one, put_product
from tests.helpers.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.helpers.processes import ApiServer, run_cli
from tests.helpers.staff import GRACE, PASSWORD, add_staff, audit_people

NOTE = "Promised the customer a refund of the shipping."


def wait_summary(base_url: str, order_id: str, version: int) -> None:
    """Until the summary projection holds the order at ``version``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        read = httpx.get(
            f"{base_url}/v1/orders/{order_id}",
            params={"min_version": version},
            headers=headers(SUPPORT_KEY),
            timeout=10,
        )
        if read.status_code == 200:
            return
        time.sleep(0.2)
    raise AssertionError(f"order {order_id} never reached version {version} in the summary")


def sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_named_staff_member_signs_notes_and_is_signed_out_by_disabling_at_once(
    db: psycopg.Connection[Any], database_url: str, start_pipeline: Callable[..., ApiServer]
) -> None:
    api = start_pipeline()
    grace = add_staff(database_url, *GRACE)
    put_product(api.url, "SKU-STAFF-MUG", on_hand=10, price=1250)
    order_id = place_one(api.url, "SKU-STAFF-MUG")
    wait_summary(api.url, order_id, 1)
    order_page = f"{api.url}/support/orders/{order_id}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)

            page.goto(order_page)
            expect(page).to_have_url(re.compile(r"/support/login\?next="))
            sign_in(page, GRACE[1], PASSWORD)
            expect(page).to_have_url(order_page)
            expect(page.locator(".session")).to_contain_text("Signed in as Grace Hopper")

            page.get_by_label("Add a note").fill(NOTE)
            page.get_by_role("button", name="Add note").click()
            expect(page).to_have_url(re.compile(rf"/support/orders/{order_id}\?min_version=2$"))
            expect(page.locator(".note-body")).to_have_text(NOTE)
            expect(page.locator(".note-author")).to_have_text("Grace Hopper")
            noted = page.locator(".timeline-entry").filter(has_text="SupportNoteAdded")
            expect(noted.locator(".timeline-actor")).to_have_text("Grace Hopper")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "staff-note.png"), full_page=True)

            # An administrator disables Grace while her page is open: its next load is the
            # sign-in form, at once, not at the end of the session's lifetime.
            disabled = run_cli(database_url, "staff", "disable", GRACE[1])
            assert disabled.returncode == 0, disabled.stderr
            page.reload()
            expect(page).to_have_url(re.compile(r"/support/login\?next="))
            expect(page.get_by_label("Password")).to_be_visible()
            page.goto(f"{api.url}/support")
            expect(page).to_have_url(re.compile(r"/support/login"))

            # Guessing is throttled: five refusals, then 429 with Retry-After (the right
            # password of the disabled account would not help either).
            for _ in range(5):
                with page.expect_response(re.compile(r"/support/login$")) as answer:
                    sign_in(page, GRACE[1], "a wrong guess of hers")
                assert answer.value.status in (401, 403)
            with page.expect_response(re.compile(r"/support/login$")) as answer:
                sign_in(page, GRACE[1], "a sixth wrong guess")
            assert answer.value.status == 429
            assert 1 <= int(answer.value.headers["retry-after"]) <= 900
            expect(page.locator("#login-error")).to_contain_text("Too many failed sign-ins")
        finally:
            browser.close()

    # The order's history names her, from the event's headers; the audit row keeps her too.
    history = httpx.get(
        f"{api.url}/v1/orders/{order_id}/history", headers=headers(SUPPORT_KEY), timeout=10
    ).json()
    note = next(e for e in history["entries"] if e.get("event_type") == "SupportNoteAdded")
    assert (note["actor"], note["actor_name"], note["actor_email"]) == (
        f"staff:{grace}",
        "Grace Hopper",
        GRACE[1],
    )
    placed = history["entries"][0]
    assert placed["actor"].startswith("checkout:") and placed["actor_name"] is None
    assert audit_people(db, "add_support_note") == [
        (f"staff:{grace}", "Grace Hopper", GRACE[1], "accepted")
    ]
    [(headers_row, payload)] = db.execute(
        "SELECT headers, payload FROM outbox WHERE event_type = 'SupportNoteAdded'"
    ).fetchall()
    assert headers_row["actor_name"] == "Grace Hopper"
    assert headers_row["actor_email"] == GRACE[1]
    assert payload["facts"]["author"] == f"staff:{grace}"
    assert payload["facts"]["author_name"] == "Grace Hopper"
