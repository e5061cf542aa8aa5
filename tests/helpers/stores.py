"""Where the test stores are: the project root, database, Redis and OpenSearch URLs, tables."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEST_DB = "postgresql+psycopg://orders:orders@127.0.0.1:55432/orders_test"
TEST_REDIS_URL = os.environ.get("ORDERS_TEST_REDIS_URL", "redis://127.0.0.1:56379/1")
OPENSEARCH_URL = os.environ.get("ORDERS_OPENSEARCH_URL", "http://127.0.0.1:19200")
# Every table of the write side, emptied before each test that takes the ``db`` fixture.
TABLES = (
    "audit_log, idempotency_receipts, outbox, payment_attempts, refunds, shipments,"
    " support_notes, order_lines, payments, orders, products, projection_dead_letters,"
    " projection_rebuilds, console_sessions, outbox_archive, event_log_horizon,"
    " staff_accounts, login_throttle"
)


def plain_dsn(url: str) -> str:
    """A libpq DSN from an SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")
