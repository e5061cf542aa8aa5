"""``orders-cqrs reconcile --loop`` is a long-running worker: a database outage is something it
waits out (logging, backing off), never something it dies of.

The outage is real but confined to the test's own database: its connections are terminated
and new ones refused for a moment (``ALLOW_CONNECTIONS false``); the shared PostgreSQL server
keeps serving everyone else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from tests.helpers.api import CHECKOUT_KEY, command, order_body, place, put_product
from tests.helpers.processes import ApiServer, worker_env
from tests.helpers.stores import ROOT, plain_dsn
from tests.helpers.waiting import wait_until

_TERMINATE = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


@contextmanager
def database_unreachable(db: psycopg.Connection[Any], database_url: str) -> Iterator[None]:
    """Every other connection to this database cut, and new ones refused, for the block.

    A database cannot refuse connections by a statement sent over one of its own, so the
    switch goes through the server's ``postgres`` database; ``db`` (already open) stays.
    """
    name = sql.Identifier(db.info.dbname)
    admin_dsn = plain_dsn(database_url.rsplit("/", 1)[0] + "/postgres")
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
        try:
            db.execute(_TERMINATE)
            yield
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name))


def _output(log: Any) -> str:
    log.seek(0)
    return str(log.read().decode())


def test_reconcile_loop_waits_out_a_database_outage_and_finishes_work_after_it(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    args = ["reconcile", "--loop", "--older-than", "0", "--interval", "0.1"]
    with tempfile.TemporaryFile() as log:
        loop = subprocess.Popen(
            [sys.executable, "-m", "orders_cqrs.entrypoints.cli", *args],
            cwd=ROOT,
            env={**os.environ, **worker_env(database_url, {})},
            stdout=log,
            stderr=log,
        )
        try:
            wait_until(lambda: "examined" in _output(log), 30, "a first reconcile pass")
            with database_unreachable(db, database_url):
                wait_until(
                    lambda: (
                        "reconcile_store_unavailable" in _output(log) or loop.poll() is not None
                    ),
                    30,
                    "a pass that meets the outage",
                )
                time.sleep(1)  # passes keep failing while the database refuses connections
            assert loop.poll() is None, _output(log)[-3000:]

            # After the outage the loop still does its work: it finishes a timed-out payment.
            server = start_api(payment_timeout_seconds="0.3")
            put_product(server.url, "SKU-LOOP", on_hand=3)
            placed = place(server.url, order_body(items=[("SKU-LOOP", 1)], token="tok_timeout"))
            order_id = placed.json()["order_id"]
            timed_out = command(server.url, order_id, "authorize", "auth-loop", CHECKOUT_KEY)
            assert timed_out.status_code == 504, timed_out.text
            status = "SELECT status FROM orders WHERE id = %s"
            wait_until(
                lambda: db.execute(status, (order_id,)).fetchone() == ("AUTHORIZED",),
                60,
                "the loop reconciles the payment after the outage",
            )
            assert loop.poll() is None, _output(log)[-3000:]
        finally:
            if loop.poll() is None:
                loop.send_signal(signal.SIGTERM)
            code = loop.wait(timeout=30)
        assert code == 0, _output(log)[-3000:]  # SIGTERM ends the loop gracefully
