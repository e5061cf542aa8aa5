"""Example requests and answers of the main operations, shown in the OpenAPI document.

They use the demo catalogue (``make dev`` loads ``SKU-MUG-01``) and the sandbox provider's
tokens, so a request copied from the document works against a local service as it is.
"""

from __future__ import annotations

from typing import Any

ORDER_ID = "0b9d8a52-3f6e-4c1a-9a47-6d2f0e8c1b35"
CUSTOMER_ID = "5c3e9f10-7d2a-4b8e-a1c4-2f6b8d0e9a71"
PLACED_AT = "2026-11-30T09:15:02.481+00:00"

PLACE_ORDER: dict[str, Any] = {
    "card": {
        "summary": "Two mugs, paid by card",
        "value": {
            "customer": {
                "id": CUSTOMER_ID,
                "email": "ada@example.com",
                "name": "Ada Lovelace",
                "country": "DE",
            },
            "items": [{"sku": "SKU-MUG-01", "quantity": 2}],
            "shipping_address": {
                "country": "DE",
                "region": "Berlin",
                "city": "Berlin",
                "postal_code": "10115",
                "line1": "Invalidenstr. 1",
            },
            "payment": {"provider": "sandbox-card", "token": "tok_approve"},
        },
    },
    "declined": {
        "summary": "A card the sandbox declines at authorization",
        "value": {
            "customer": {"id": CUSTOMER_ID, "email": "ada@example.com", "name": "Ada Lovelace"},
            "items": [{"sku": "SKU-MUG-01", "quantity": 1}],
            "shipping_address": {
                "country": "FR",
                "region": "Île-de-France",
                "city": "Paris",
                "postal_code": "75001",
                "line1": "1 rue de Rivoli",
            },
            "payment": {"provider": "sandbox-card", "token": "tok_decline"},
        },
    },
}
REFUND: dict[str, Any] = {
    "partial": {
        "summary": "Give back one mug of two",
        "value": {
            "amount": {"amount": 1499, "currency": "EUR"},
            "reason": "one mug arrived chipped",
        },
    }
}
CANCEL: dict[str, Any] = {
    "with-reason": {
        "summary": "The customer changed their mind (also the reason when there is no body)",
        "value": {"reason": "customer_request"},
    },
}
CAPTURE: dict[str, Any] = {
    "all": {"summary": "Capture everything authorized", "value": {}},
    "part": {
        "summary": "Capture part of it (a split shipment)",
        "value": {"amount": {"amount": 1499, "currency": "EUR"}},
    },
}
SHIP: dict[str, Any] = {
    "dhl": {
        "summary": "Handed to DHL",
        "value": {"carrier": "DHL", "tracking_number": "JJD0001234"},
    }
}
NOTE: dict[str, Any] = {
    "callback": {
        "summary": "A call with the customer",
        "value": {"body": "Called back, refund promised."},
    }
}
PUT_PRODUCT: dict[str, Any] = {
    "restock": {
        "summary": "Create the mug, or restock it to 120",
        "value": {
            "name": "Enamel camping mug",
            "unit_price": {"amount": 1499, "currency": "EUR"},
            "on_hand": 120,
        },
    }
}
AUTHORIZED_ORDER: dict[str, Any] = {
    "order_id": ORDER_ID,
    "version": 2,
    "status": "AUTHORIZED",
    "customer": {
        "id": CUSTOMER_ID,
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "country": "DE",
    },
    "items": [
        {
            "sku": "SKU-MUG-01",
            "name": "Enamel camping mug",
            "quantity": 2,
            "unit_price": 1499,
            "line_total": 2998,
        }
    ],
    "shipping_address": {
        "country": "DE",
        "region": "Berlin",
        "city": "Berlin",
        "postal_code": "10115",
        "line1": "Invalidenstr. 1",
    },
    "currency": "EUR",
    "total": {"amount": 2998, "currency": "EUR"},
    "payment": {
        "provider": "sandbox-card",
        "state": "authorized",
        "authorized": 2998,
        "captured": 0,
        "refunded": 0,
        "authorization_ref": "auth_5f2c9e",
        "decline_reason": None,
    },
    "risk_flags": [],
    "stock": "reserved",
    "shipment": None,
    "refunds": [],
    "notes": [],
    "placed_at": PLACED_AT,
    "updated_at": "2026-11-30T09:15:03.020+00:00",
    "captured_at": None,
    "cancelled_at": None,
    "cancel_reason": None,
}
PLACED_ORDER: dict[str, Any] = {
    **AUTHORIZED_ORDER,
    "version": 1,
    "status": "PENDING_PAYMENT",
    "payment": {**AUTHORIZED_ORDER["payment"], "state": "pending", "authorized": 0},
    "updated_at": PLACED_AT,
}
PLACED_ORDER["payment"]["authorization_ref"] = None
