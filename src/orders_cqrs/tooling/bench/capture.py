"""The pgbench baseline, captured from the service's own code so that it cannot drift.

One checkout runs in-process through the real envelope, executor, handler and unit of work;
the unit of work records every message it sends to PostgreSQL (each message is one round
trip: ``;``-joined statements with client-side bound literals, from BEGIN to COMMIT). Those
messages become a pgbench script: one line per message, statements joined by ``\\;`` (so
pgbench sends the line as one simple-protocol query, exactly like the service), and the
values that must differ per transaction replaced by pgbench variables:

* order, event, command and customer ids and the idempotency key, in both spellings
  (``8c0b…-…`` inside JSON text, ``8c0b…`` as SQL uuid literals), each built from five
  ``\\set`` random numbers whose decimal digits are valid hex groups;
* the SKU and its product name, from a random number over the seeded catalogue.

What stays constant: timestamps, the payment token, and the stored response bytes (a
``bytea`` literal PostgreSQL never looks into; same length as the service's).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import partial

import psycopg

from orders_cqrs.api.auth import Principal
from orders_cqrs.api.envelope import Envelope, trace_context
from orders_cqrs.api.routes.orders import place_order_command
from orders_cqrs.api.schemas import PlaceOrderIn
from orders_cqrs.bootstrap import build_executor, open_container
from orders_cqrs.config import Settings
from orders_cqrs.db.connection import libpq_dsn
from orders_cqrs.write.unit_of_work import UnitOfWork

CAPTURED_SKU = 1137  # any seeded number whose digits occur nowhere else in the SQL
JOINER = ";\n"  # how db/session.py joins the statements of one message
# (group length, lowest, highest): decimal numbers of exactly that many digits
_GROUPS = ((8, 10**7, 10**8 - 1), (4, 1000, 9999), (4, 1000, 9999), (4, 1000, 9999))
_LAST_GROUP = (12, 10**11, 10**12 - 1)
UUID_VARIABLES = ("order", "event", "command", "customer", "key")


@dataclass(frozen=True, slots=True)
class Capture:
    """The messages of one checkout and the values that identify it."""

    messages: list[str]
    ids: dict[str, uuid.UUID]  # UUID_VARIABLES → the captured value
    sku: str
    product: str


def order_body(customer_id: uuid.UUID, sku: str) -> PlaceOrderIn:
    """The checkout request the bench posts (wrk sends the same JSON)."""
    return PlaceOrderIn.model_validate(
        {
            "customer": {"id": str(customer_id), "email": "bench@example.com", "name": "Bench"},
            "items": [{"sku": sku, "quantity": 1}],
            "shipping_address": {
                "country": "DE",
                "region": "Berlin",
                "city": "Berlin",
                "postal_code": "10115",
                "line1": "Invalidenstr. 1",
            },
            "payment": {"provider": "sandbox-card", "token": "tok_approve"},
        }
    )


async def capture_checkout(settings: Settings, client_id: str, sku: str, product: str) -> Capture:
    """Place one order the way ``POST /v1/orders`` does and record what went to PostgreSQL."""
    customer_id, key = uuid.uuid4(), uuid.uuid4()
    body = order_body(customer_id, sku)
    command = place_order_command(body)  # the route's own conversion
    envelope = Envelope("POST", "/v1/orders", str(key), None, trace_context(None))
    ctx = envelope.context("place_order", Principal(role="checkout", client_id=client_id), body)
    messages: list[str] = []
    async with open_container(settings, commands=True) as container:
        recording = partial(UnitOfWork, container.write_pool, recorder=messages)
        executor = build_executor(settings, recording, frozenset(container.gateways))
        outcome = await executor.execute(command, ctx)
    if outcome.status_code != 201:
        raise RuntimeError(f"capture checkout refused: {outcome.status_code} {outcome.body!r}")
    order_id = uuid.UUID(outcome.headers["Location"].rsplit("/", 1)[1])
    with psycopg.connect(libpq_dsn(settings.database_url)) as conn:
        row = conn.execute(
            "SELECT event_id FROM outbox WHERE aggregate_id = %s", (order_id,)
        ).fetchone()
    assert row is not None, "the captured checkout wrote no outbox row"
    ids = {
        "order": order_id,
        "event": row[0],
        "command": ctx.command_id,
        "customer": customer_id,
        "key": key,
    }
    return Capture(messages, ids, sku, product)


def _uuid_sets(name: str) -> list[str]:
    groups = [*_GROUPS, _LAST_GROUP]
    return [f"\\set {name}{n} random({low}, {high})" for n, (_, low, high) in enumerate(groups, 1)]


def _dashed(name: str) -> str:
    return "-".join(f":{name}{n}" for n in range(1, 6))


def _plain(name: str) -> str:
    return "".join(f":{name}{n}" for n in range(1, 6))


def one_line(message: str) -> str:
    """A recorded message as one pgbench line: one query, one round trip.

    ``\\;`` joins statements into one query; the final ``;`` ends pgbench's command.
    """
    statements = [" ".join(s.split()) for s in message.split(JOINER)]
    return "\\; ".join(s for s in statements if s) + ";"


def pgbench_script(capture: Capture, sku_range: tuple[int, int]) -> str:
    """The captured checkout as a pgbench script with fresh ids and a random SKU per run."""
    prefix = "b"  # pgbench replaces ``:name`` only for names it knows: keep them distinctive
    ours = {f"{prefix}sku"} | {f"{prefix}{name}{n}" for name in UUID_VARIABLES for n in range(1, 6)}
    lines = [line for name in UUID_VARIABLES for line in _uuid_sets(prefix + name)]
    lines.append(f"\\set {prefix}sku random({sku_range[0]}, {sku_range[1]})")
    sku_number = capture.sku.rsplit("-", 1)[1]
    for message in capture.messages:
        line = one_line(message)
        # pgbench reads ``:`` and the longest run of word characters as a variable name and
        # replaces it only when it is one of ours; other text (a client id ``checkout:bad3…``)
        # passes through unchanged.
        if ours & set(_PGBENCH_NAME.findall(line)):
            raise RuntimeError("captured SQL already holds text that reads as one of our variables")
        for name in UUID_VARIABLES:
            value = capture.ids[name]
            line = line.replace(str(value), _dashed(prefix + name))
            line = line.replace(value.hex, _plain(prefix + name))
        line = line.replace(capture.sku, capture.sku.replace(sku_number, f":{prefix}sku"))
        line = line.replace(capture.product, capture.product.replace(sku_number, f":{prefix}sku"))
        lines.append(line)
    script = "\n".join(lines) + "\n"
    for name in UUID_VARIABLES:
        value = capture.ids[name]
        if str(value) in script or value.hex in script:
            raise RuntimeError(f"captured {name} id left in the script")
    return script


_PGBENCH_NAME = re.compile(r":(\w+)")
_STRING = re.compile(r"(?:\bE)?'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w:$])-?\d+(?:\.\d+)?\b")
_PGBENCH_VARIABLE = re.compile(r"(?<!:):[a-z]\w*")


def normalise(sql: str) -> list[str]:
    """Statements with literals as ``?`` and whitespace collapsed, for comparing SQL shapes.

    Works on what PostgreSQL logs, on recorded messages and on pgbench lines alike: string
    literals (with their ``E`` prefix) and numbers become ``?``, pgbench variables too, and
    ``;``/``\\;`` separators split statements.
    """
    text = _STRING.sub("?", sql)
    text = _PGBENCH_VARIABLE.sub("?", text)
    text = _NUMBER.sub("?", text)
    parts = re.split(r"\\?;", text)
    return [" ".join(part.split()) for part in parts if part.strip()]
