"""Bad requests as table rows, for the bad-input suites (``tests/integration/bad_input``).

A row (``Bad``) is one request, written exactly (raw bytes where it says so), and the problem
it must get. Every row starts from the same world: one product with reserved stock and one
placed order; afterwards the write model (orders, lines, payments, attempts, outbox,
idempotency receipts, refunds, shipments, notes, every product's counters) must be exactly
as it was. Refused commands may add an audit row; that is by design, so the audit log is not
compared.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, SUPPORT_KEY, order_body
from tests.helpers.problems import assert_problem

MAX_BODY = 64 * 1024
SKU = "SKU-OK"
ORDER = "/v1/orders/{order}"  # the seeded order
MISSING = "/v1/orders/{missing}"  # a well-formed id no order has
DROP = object()  # marks a member to remove from a body
NO_BODY = object()


# ----------------------------------------------------------------------------- body builders


def _edit(body: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` with dotted paths (``items.0.quantity``) set, or removed with DROP."""
    result = copy.deepcopy(body)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node: Any = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is DROP:
            del node[last]
        else:
            node[last] = value
    return result


def order(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid PlaceOrder body for the seeded SKU, with ``changes``."""
    return _edit(order_body(items=[(SKU, 1)]), changes or {})


def order_json(changes: dict[str, Any] | None = None) -> bytes:
    """A valid PlaceOrder body as ``json.dumps`` writes it, for rows that edit its text."""
    return json.dumps(order(changes)).encode()


def product(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid PutProduct body, with ``changes``."""
    body = {"name": "Mug", "unit_price": {"amount": 1000, "currency": "EUR"}, "on_hand": 100}
    return _edit(body, changes or {})


def refund(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A well-formed IssueRefund body, with ``changes``."""
    body = {"amount": {"amount": 100, "currency": "EUR"}, "reason": "damaged"}
    return _edit(body, changes or {})


def ship(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A well-formed ShipOrder body, with ``changes``."""
    return _edit({"carrier": "DHL", "tracking_number": "00340434161234567890"}, changes or {})


def items(count: int) -> list[dict[str, Any]]:
    """``count`` distinct order lines."""
    return [{"sku": f"SKU-{n}", "quantity": 1} for n in range(count)]


def oversized_order() -> bytes:
    """A valid-looking PlaceOrder body just over the 64 KiB cap."""
    text = json.dumps(order({"customer.name": "x"}))
    padding = MAX_BODY + 1 - len(text) + len('"x"') - 2
    return text.replace('"x"', json.dumps("x" * padding), 1).encode()


def surrogate_json(path: str) -> bytes:
    """A PlaceOrder body whose ``path`` string is a lone surrogate written as a JSON escape."""
    text = json.dumps(order({path: "@@lone@@"}))
    assert '"@@lone@@"' in text
    return text.replace('"@@lone@@"', r'"Ada \ud800 Lovelace"').encode()


# ----------------------------------------------------------------------------- the rows


@dataclass(frozen=True)
class Bad:
    """One bad request and the problem it must get."""

    method: str
    path: str  # ``{order}``: the seeded order's id; ``{missing}``: a random UUID
    status: int
    kind: str  # the problem type after ``/problems/``
    body: Any = NO_BODY  # serialized with json.dumps (lone surrogates become raw \\ud800 escapes)
    raw: bytes | None = None  # sent as is instead of ``body``
    content_type: str | None = "application/json"
    key: str | None = CHECKOUT_KEY
    idempotency_key: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    errors: bool = False  # a validation problem with an ``errors`` list


def rows(cases: dict[str, Any]) -> pytest.MarkDecorator:
    """Parametrize a test over a table: one case per row, named by the row's key."""
    return pytest.mark.parametrize("case", list(cases.values()), ids=list(cases))


def post_order(status: int, kind: str, body: Any, **options: Any) -> Bad:
    return Bad("POST", "/v1/orders", status, kind, body=body, **options)


def invalid_order(changes: dict[str, Any]) -> Bad:
    return post_order(422, "validation", order(changes), errors=True)


def invalid_raw_order(raw: bytes) -> Bad:
    """A PlaceOrder request whose bytes are sent as written, refused by validation."""
    return post_order(422, "validation", None, raw=raw, errors=True)


def invalid_product(changes: dict[str, Any]) -> Bad:
    return Bad(
        "PUT", f"/v1/inventory/{SKU}", 422, "validation", product(changes), key=OPS_KEY, errors=True
    )


def invalid_command(verb: str, body: Any, key: str = CHECKOUT_KEY) -> Bad:
    """A command on the seeded order whose body (or path) validation refuses."""
    return Bad("POST", f"{ORDER}/{verb}", 422, "validation", body, key=key, errors=True)


def invalid_refund(changes: dict[str, Any]) -> Bad:
    return invalid_command("refunds", refund(changes), SUPPORT_KEY)


def invalid_shipment(changes: dict[str, Any]) -> Bad:
    return invalid_command("ship", ship(changes), OPS_KEY)


def invalid_capture(amount: int | float, currency: str = "EUR") -> Bad:
    return invalid_command("capture", {"amount": {"amount": amount, "currency": currency}}, OPS_KEY)


def invalid_note(body: dict[str, Any]) -> Bad:
    return invalid_command("notes", body, SUPPORT_KEY)


# ----------------------------------------------------------------------------- the world


RowCheck = Callable[[Bad], None]  # the ``assert_refused`` fixture: a row against the world


@dataclass(frozen=True)
class World:
    """What each row starts from: the seeded product and order."""

    url: str
    order_id: str


WRITE_MODEL = (
    "orders",
    "order_lines",
    "payments",
    "payment_attempts",
    "outbox",
    "idempotency_receipts",
    "refunds",
    "shipments",
    "support_notes",
    "products",
)


def write_model(db: psycopg.Connection[Any]) -> dict[str, Any]:
    """Row counts of the write model, every product's counters and every order's version."""
    state: dict[str, Any] = {
        table: db.execute(f"SELECT count(*) FROM {table}").fetchone() for table in WRITE_MODEL
    }
    state["products"] = db.execute(
        "SELECT sku, name, unit_price, currency, on_hand, reserved, sold, version"
        " FROM products ORDER BY sku"
    ).fetchall()
    state["orders"] = db.execute("SELECT id, version, status FROM orders ORDER BY id").fetchall()
    state["payments"] = db.execute(
        "SELECT order_id, state, authorized, captured, refunded FROM payments ORDER BY order_id"
    ).fetchall()
    return state


def send(world: World, case: Bad) -> httpx.Response:
    """The row's request, exactly as written (raw bytes where the row says so)."""
    path = case.path.format(order=world.order_id, missing=uuid.uuid4())
    headers: dict[str, str] = {}
    if case.key is not None:
        headers["Authorization"] = f"Bearer {case.key}"
    if case.idempotency_key:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    content: bytes | None = case.raw
    if content is None and case.body is not NO_BODY:
        content = json.dumps(case.body).encode()  # ensure_ascii: "\ud800" goes out as an escape
    if content is not None and case.content_type is not None:
        headers["Content-Type"] = case.content_type
    headers.update(case.headers)
    if case.chunked:
        assert content is not None
        chunks = [content[i : i + 8192] for i in range(0, len(content), 8192)] or [b""]
        return httpx.request(
            case.method, world.url + path, content=iter(chunks), headers=headers, timeout=30
        )
    return httpx.request(
        case.method, world.url + path, content=content, headers=headers, timeout=30
    )


def assert_refused_and_nothing_changed(
    world: World, db: psycopg.Connection[Any], case: Bad
) -> None:
    """The row's request gets its problem (with what its status promises) and changes nothing."""
    before = write_model(db)

    response = send(world, case)

    problem = assert_problem(response, case.status, case.kind)
    if case.errors:
        errors = problem.get("errors")
        assert isinstance(errors, list) and errors, problem
        assert all(isinstance(e.get("loc"), list) and isinstance(e.get("msg"), str) for e in errors)
    if case.status == 401:
        assert response.headers.get("www-authenticate", "").lower().startswith("bearer"), (
            response.headers
        )
    if case.status == 405:
        assert response.headers.get("allow"), response.headers
    assert write_model(db) == before
