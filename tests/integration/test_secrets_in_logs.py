"""Secrets stay out of logs: payment tokens in failed statements, passwords in store URLs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import OPS_KEY, headers, order_body, place, put_product
from tests.helpers.processes import ApiServer, free_port


def server_log(api: ApiServer) -> str:
    api.log.flush()
    api.log.seek(0)
    return api.log.read().decode(errors="replace")


def test_a_database_error_during_checkout_never_logs_the_payment_token(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    put_product(api.url, "SKU-LOG", on_hand=5)
    # A constraint the row cannot meet: PostgreSQL's error then carries the whole failing row
    # ("Failing row contains (…)"), the token included, as any NOT NULL or CHECK violation does.
    db.execute(
        "ALTER TABLE payments ADD CONSTRAINT refuse_every_payment CHECK (provider = '') NOT VALID"
    )
    token = f"tok_approve_{uuid.uuid4().hex}"
    try:
        placed = place(api.url, order_body(items=[("SKU-LOG", 1)], token=token))
    finally:
        db.execute("ALTER TABLE payments DROP CONSTRAINT refuse_every_payment")
    assert placed.status_code == 500, placed.text
    assert token not in placed.text
    api.stop()
    log = server_log(api)
    assert "refuse_every_payment" in log  # the failure was logged …
    assert token not in log  # … without the token


def test_an_unreachable_clickhouse_never_shows_its_password(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    nobody = free_port()
    api = start_api(clickhouse_url=f"http://orders:{password}@127.0.0.1:{nobody}/default")
    ops = headers(OPS_KEY)
    dashboard = httpx.get(
        f"{api.url}/v1/dashboards/stuck-orders", params={"group_by": "region"}, headers=ops
    )
    assert dashboard.status_code == 503, dashboard.text
    assert password not in dashboard.text
    page = httpx.get(f"{api.url}/ops", headers=ops)
    assert page.status_code == 200 and password not in page.text
    api.stop()
    log = server_log(api)
    assert f"orders:***@127.0.0.1:{nobody}" in log  # the failure was logged, naming the store
    assert password not in log  # … without its password
