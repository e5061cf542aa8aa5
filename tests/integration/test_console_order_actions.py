"""Refund and cancel from the support order page, over HTTP against a real API, PostgreSQL and
the summary pipeline: the review shows what will happen and changes nothing; the confirmation
is an idempotent command carrying the page's version, so a double submit refunds once, a stale
page refunds nothing and says why, and a cancel gives the stock back exactly once."""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import (
    OPS_KEY,
    SUPPORT_KEY,
    authorize,
    command,
    order_body,
    place,
    put_product,
)
from tests.helpers.processes import ApiServer
from tests.helpers.staff import GRACE, add_staff, staff_client

MUG, TEA = "SKU-ACT-MUG", "SKU-ACT-TEA"
TOTAL = 2 * 1250  # two mugs


@dataclass
class Agent:
    """A signed-in support agent's browser, reduced to its cookie jar."""

    api: ApiServer
    client: httpx.Client

    def order_page(self, order_id: str, version: int, seconds: float = 45) -> httpx.Response:
        """The order page once the summary holds ``version`` (a busy machine starts the
        projector slowly; the page says "catching up" with a 503 until then)."""
        deadline = time.monotonic() + seconds
        while True:
            page = self.client.get(f"/support/orders/{order_id}", params={"min_version": version})
            if page.status_code != 503 or time.monotonic() > deadline:
                return page
            time.sleep(0.3)

    def post(self, path: str, fields: dict[str, str], **headers: str) -> httpx.Response:
        return self.client.post(path, data=fields, headers=headers)

    def review_refund(self, order_id: str, amount: str, version: int) -> httpx.Response:
        fields = {"amount": amount, "reason": "parcel damaged", "version": str(version)}
        return self.post(f"/support/orders/{order_id}/refund/review", fields)

    def review_cancel(self, order_id: str, version: int) -> httpx.Response:
        fields = {"reason": "customer changed their mind", "version": str(version)}
        return self.post(f"/support/orders/{order_id}/cancel/review", fields)


@pytest.fixture
def agent(start_pipeline: Callable[..., ApiServer], database_url: str) -> Iterator[Agent]:
    api = start_pipeline(projections=("summary",))
    put_product(api.url, MUG, on_hand=10, price=1250)
    put_product(api.url, TEA, on_hand=10, price=899)
    add_staff(database_url, *GRACE)
    with staff_client(api.url, GRACE[1]) as client:
        client.timeout = httpx.Timeout(30)
        yield Agent(api, client)


def captured_order(base_url: str) -> str:
    """An order of TOTAL, authorized and captured: version 3."""
    placed = place(base_url, order_body(items=[(MUG, 2)]))
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["order_id"])
    assert authorize(base_url, order_id).status_code == 200
    captured = command(base_url, order_id, "capture", str(uuid.uuid4()), OPS_KEY)
    assert captured.status_code == 200 and captured.json()["version"] == 3, captured.text
    return order_id


def confirmation(page: httpx.Response) -> dict[str, str]:
    """The hidden fields of the review page's confirmation form, as a browser would post them."""
    form = re.search(
        r'<form method="post" action="([^"]+)" class="confirm">(.*?)</form>', page.text, re.S
    )
    assert form is not None, page.text
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2))
    return {"_action": form.group(1), **{name: html.unescape(value) for name, value in fields}}


def confirm(agent: Agent, fields: dict[str, str], **headers: str) -> httpx.Response:
    posted = {name: value for name, value in fields.items() if name != "_action"}
    return agent.post(fields["_action"], posted, **headers)


def money_state(db: psycopg.Connection[Any], order_id: str) -> tuple[Any, ...]:
    """What a refund changes: version, status, refunded total, refund rows, refund events."""
    row = db.execute(
        """
        SELECT o.version, o.status, p.refunded,
               (SELECT count(*) FROM refunds r WHERE r.order_id = o.id),
               (SELECT count(*) FROM outbox e
                 WHERE e.aggregate_id = o.id AND e.event_type = 'RefundIssued')
          FROM orders o JOIN payments p ON p.order_id = o.id WHERE o.id = %s
        """,
        (order_id,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def stock(db: psycopg.Connection[Any], sku: str) -> tuple[int, int, int]:
    row = db.execute("SELECT on_hand, reserved, sold FROM products WHERE sku = %s", (sku,))
    found = row.fetchone()
    assert found is not None
    return (int(found[0]), int(found[1]), int(found[2]))


def text_of(page: httpx.Response) -> str:
    """The page's visible words, tags dropped and whitespace folded (for sentence checks)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def test_the_order_page_offers_a_refund_and_the_review_shows_amount_and_what_remains(
    db: psycopg.Connection[Any], agent: Agent
) -> None:
    order_id = captured_order(agent.api.url)
    page = agent.order_page(order_id, 3)
    assert page.status_code == 200, page.text
    assert "Review refund…" in page.text and 'name="version" value="3"' in page.text

    review = agent.review_refund(order_id, "10.00", 3)
    assert review.status_code == 200, review.text
    words = text_of(review)
    assert "Refund 10.00 EUR" in words
    assert "Refundable now 25.00 EUR" in words and "Refundable after 15.00 EUR" in words
    fields = confirmation(review)
    assert fields["if_match"] == "3" and fields["amount_minor"] == "1000"
    uuid.UUID(fields["idempotency_key"])  # a fresh key per review
    assert (
        confirmation(agent.review_refund(order_id, "10.00", 3))["idempotency_key"]
        != (fields["idempotency_key"])
    )
    assert money_state(db, order_id) == (3, "CAPTURED", 0, 0, 0)  # reviewing changes nothing


def test_a_confirmation_posted_twice_refunds_once_and_shows_the_new_version(
    db: psycopg.Connection[Any], agent: Agent
) -> None:
    order_id = captured_order(agent.api.url)
    fields = confirmation(agent.review_refund(order_id, "10.00", 3))

    forged = confirm(agent, fields, Origin="https://elsewhere.example")
    assert forged.status_code == 403  # the console's cross-site guard holds for this form too
    assert money_state(db, order_id) == (3, "CAPTURED", 0, 0, 0)

    first = confirm(agent, fields)
    assert first.status_code == 200, first.text
    assert "Refunded 10.00 EUR" in text_of(first) and "version 4" in text_of(first)
    again = confirm(agent, fields)  # a double click, or a reload of the result
    assert again.status_code == 200, again.text
    assert "already carried out" in text_of(again) and "version 4" in text_of(again)
    assert money_state(db, order_id) == (4, "CAPTURED", 1000, 1, 1)
    audit = db.execute(
        "SELECT actor, actor_name, outcome FROM audit_log"
        " WHERE command = 'issue_refund' AND order_id = %s",
        (order_id,),
    ).fetchall()
    assert [outcome for _, _, outcome in audit] == ["accepted"]
    # The person who refunded, by id and by name, as the timeline shows them.
    session = db.execute("SELECT principal_id FROM console_sessions").fetchone()
    assert session is not None and audit[0][0] == f"staff:{session[0]}"
    assert audit[0][1] == GRACE[0]


def test_a_stale_page_is_told_the_versions_and_nothing_is_refunded(
    db: psycopg.Connection[Any], agent: Agent
) -> None:
    order_id = captured_order(agent.api.url)
    fields = confirmation(agent.review_refund(order_id, "10.00", 3))
    # Meanwhile a colleague refunds from another tab (through the API, as another client).
    other = command(
        agent.api.url,
        order_id,
        "refunds",
        str(uuid.uuid4()),
        SUPPORT_KEY,
        {"amount": {"amount": 500, "currency": "EUR"}, "reason": "goodwill"},
    )
    assert other.status_code == 201, other.text
    before = money_state(db, order_id)

    stale = confirm(agent, fields)
    assert stale.status_code == 412, stale.text
    message = "The order changed since you opened it (version 3 → 4); review it again."
    assert message in text_of(stale)
    assert f'href="/support/orders/{order_id}?min_version=4"' in stale.text
    assert money_state(db, order_id) == before == (4, "CAPTURED", 500, 1, 1)

    # A review from the old page is stopped the same way, before any confirmation exists.
    old_review = agent.review_refund(order_id, "10.00", 3)
    assert old_review.status_code == 412 and message in text_of(old_review)
    assert 'class="confirm"' not in old_review.text


def test_an_over_refund_is_refused_with_what_remains_at_review_and_at_confirmation(
    db: psycopg.Connection[Any], agent: Agent
) -> None:
    order_id = captured_order(agent.api.url)
    told = "30.00 EUR is more than can be refunded: 25.00 EUR remains refundable."
    review = agent.review_refund(order_id, "30", 3)
    assert review.status_code == 422 and told in text_of(review)
    assert 'class="confirm"' not in review.text and "/problems/refund-rule" in review.text

    # A confirmation for more than remains (forged, or raced past its review) is refused by
    # the command itself, rendered the same way, and audited as refused.
    fields = confirmation(agent.review_refund(order_id, "20", 3))
    fields["amount_minor"] = "3000"
    refused = confirm(agent, fields)
    assert refused.status_code == 422 and told in text_of(refused)
    assert money_state(db, order_id) == (3, "CAPTURED", 0, 0, 0)
    outcomes = db.execute(
        "SELECT outcome, problem_type FROM audit_log WHERE command = 'issue_refund'"
    ).fetchall()
    assert outcomes == [("rejected", "refund-rule")]

    for amount, why in [("abc", "must be a number"), ("1.234", "2 decimals")]:
        bad = agent.review_refund(order_id, amount, 3)
        assert bad.status_code == 422 and why in text_of(bad), amount


def test_cancel_review_lists_the_stock_and_the_confirmation_releases_it_once(
    db: psycopg.Connection[Any], agent: Agent
) -> None:
    placed = place(agent.api.url, order_body(items=[(MUG, 2), (TEA, 3)]))
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["order_id"])
    assert authorize(agent.api.url, order_id).status_code == 200
    assert (stock(db, MUG), stock(db, TEA)) == ((10, 2, 0), (10, 3, 0))

    review = agent.review_cancel(order_id, 2)
    assert review.status_code == 200, review.text
    rows = re.findall(
        r"<code>(SKU-[A-Z-]+)</code></td><td>[^<]*</td><td class=\"num\">(\d+)</td>", review.text
    )
    assert sorted(rows) == [(MUG, "2"), (TEA, "3")]
    assert "Void the authorization of 51.97 EUR with sandbox-card" in text_of(review)
    assert (stock(db, MUG), stock(db, TEA)) == ((10, 2, 0), (10, 3, 0))  # nothing yet

    fields = confirmation(review)
    done = confirm(agent, fields)
    assert done.status_code == 200, done.text
    assert "Order cancelled" in text_of(done) and "voided" in text_of(done)
    assert (stock(db, MUG), stock(db, TEA)) == ((10, 0, 0), (10, 0, 0))
    replayed = confirm(agent, fields)
    assert replayed.status_code == 200 and "already carried out" in text_of(replayed)
    assert (stock(db, MUG), stock(db, TEA)) == ((10, 0, 0), (10, 0, 0))  # released once
    status = db.execute(
        "SELECT o.status, p.state, o.version FROM orders o JOIN payments p ON p.order_id = o.id"
        " WHERE o.id = %s",
        (order_id,),
    ).fetchone()
    assert status == ("CANCELLED", "voided", 4)
    assert "version 4" in text_of(done)

    # A cancelled order offers no second cancel: its review says why, as a problem.
    again = agent.review_cancel(order_id, 4)
    assert again.status_code == 409 and "cannot cancel an order that is CANCELLED" in text_of(again)
