"""Write traffic that keeps going while a test does something to the event log underneath.

Every order gets a second event later (a support note on an order placed earlier), so
whatever moves or rebuilds history meets orders whose events are spread over time, not only
orders with a single event.
"""

from __future__ import annotations

import threading
import uuid

import httpx

from tests.helpers.api import CHECKOUT_KEY, SUPPORT_KEY, headers, order_body


def checkouts_and_notes(
    base_url: str, sku: str, order_ids: list[str], stop: threading.Event
) -> int:
    """Place orders of ``sku`` and note earlier ones until ``stop``; how many commands succeeded.

    Each placed order's id is appended to ``order_ids`` as it is placed, so the caller can
    check afterwards that every one of them survived.
    """
    done = 0
    with httpx.Client(base_url=base_url, timeout=10) as client:
        while not stop.is_set():
            placed = client.post(
                "/v1/orders",
                json=order_body(items=[(sku, 1)]),
                headers=headers(CHECKOUT_KEY, str(uuid.uuid4())),
            )
            assert placed.status_code == 201, placed.text
            order_ids.append(placed.json()["order_id"])
            noted = client.post(
                f"/v1/orders/{order_ids[len(order_ids) // 2]}/notes",
                json={"body": "traffic"},
                headers=headers(SUPPORT_KEY, str(uuid.uuid4())),
            )
            assert noted.status_code == 201, noted.text
            done += 2
    return done
