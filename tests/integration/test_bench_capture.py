"""The pgbench baseline of ``make bench`` replays exactly what a real checkout sends.

Black box: PostgreSQL itself logs every statement of a throwaway database, a real API process
takes a ``POST /v1/orders``, and the logged messages (literals → placeholders) must equal the
bench's generated pgbench script normalised the same way — statement for statement, message
for message (one message = one round trip). If the service's SQL changes and the capture
does not follow, this fails.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from orders_cqrs.config import Settings, parse_api_keys
from orders_cqrs.tooling.bench.capture import (
    CAPTURED_SKU,
    capture_checkout,
    normalise,
    order_body,
    pgbench_script,
)
from orders_cqrs.tooling.bench.environment import (
    SKU_FIRST,
    SKU_LAST,
    BenchEnv,
    product_name,
    sku_name,
)
from tests.helpers.processes import ApiServer

SERVICES_DIR = Path(os.environ.get("ORDERS_SERVICES_DIR", "/var/lib/orders-cqrs"))
PG_LOG = SERVICES_DIR / "pg.log"
PG_SOCKET = SERVICES_DIR / "pgsock"
DATABASE = f"orders_bench_capture_{uuid.uuid4().hex[:8]}"  # two runs never share it
_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def as_superuser(sql: str) -> None:
    """Run ``sql`` as the postgres superuser over the local socket."""
    subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-h", str(PG_SOCKET), "-p", "55432", "-d", "postgres", "-c", sql],
        check=True,
        capture_output=True,
    )  # fmt: skip


def logged_messages(offset: int) -> list[str]:
    """Every simple-protocol message PostgreSQL logged for DATABASE after ``offset``."""
    with PG_LOG.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    messages: list[str] = []
    current: list[str] | None = None
    marker = f"@{DATABASE} LOG:  statement: "
    for line in lines:
        if _ENTRY.match(line):
            if current is not None:
                messages.append("\n".join(current))
            current = [line.split(marker, 1)[1]] if marker in line else None
        elif current is not None:
            current.append(line)
    if current is not None:
        messages.append("\n".join(current))
    return messages


@pytest.fixture
def logged_database(database_url: str):
    """A migrated, seeded database whose every statement PostgreSQL logs; dropped after."""
    base = Settings(database_url=database_url, clickhouse_url="")
    env = BenchEnv(base, database=DATABASE, redis_db=1)
    env.create_database()
    as_superuser(f"ALTER DATABASE {DATABASE} SET log_statement = 'all'")
    try:
        yield env
    finally:
        env.drop()


def test_pgbench_script_replays_the_messages_of_a_real_http_checkout(logged_database: BenchEnv):
    env = logged_database
    client_id = parse_api_keys(f"checkout:{env.checkout_key}")[0].client_id
    sku = sku_name(CAPTURED_SKU)
    capture = asyncio.run(
        capture_checkout(env.settings(), client_id, sku, product_name(CAPTURED_SKU))
    )
    script = pgbench_script(capture, (SKU_FIRST, SKU_LAST))
    replayed = [normalise(line) for line in script.splitlines() if not line.startswith("\\")]

    server = ApiServer(env=env.env()).start()
    try:
        offset = PG_LOG.stat().st_size
        body = order_body(uuid.uuid4(), sku_name(SKU_FIRST + 3)).model_dump(mode="json")
        response = httpx.post(
            f"{server.url}/v1/orders",
            json=body,
            headers={
                "Authorization": f"Bearer {env.checkout_key}",
                "Idempotency-Key": str(uuid.uuid4()),
            },
            timeout=10,
        )
        assert response.status_code == 201, response.text
        order_id = response.json()["order_id"]
    finally:
        server.stop()

    # the checkout is one transaction, BEGIN … COMMIT, over several messages
    checkout: list[list[str]] = []
    for message in logged_messages(offset):
        if message.lstrip().startswith("BEGIN"):
            checkout = []
        checkout.append(normalise(message))
        if message.rstrip().endswith("COMMIT"):
            break
    assert checkout == replayed
    with psycopg.connect(env.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM orders WHERE id = %s", (order_id,)).fetchone()


def test_normalise_ignores_literals_and_keeps_statement_shapes():
    logged = "BEGIN;\nSELECT 'a;b', 1 FROM t WHERE x = E'q''r'::uuid;\nCOMMIT"
    line = "BEGIN\\; SELECT ':v1-:v2', 22 FROM t WHERE x = 'z'::uuid\\; COMMIT;"
    assert (
        normalise(logged)
        == normalise(line)
        == [
            "BEGIN",
            "SELECT ?, ? FROM t WHERE x = ?::uuid",
            "COMMIT",
        ]
    )
