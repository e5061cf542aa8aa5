"""Every log line, in both formats and from both logging systems, leaves secrets out."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers.stores import ROOT

TOKEN = "tok_approve_4f1c9e"
PASSWORD = "a-clickhouse-password"
SCRIPT = f"""
import logging, structlog
from orders_cqrs.observability.logging import configure_logging
configure_logging(json={{json}})

def checkout(token):
    raise RuntimeError(
        'new row for relation "payments" violates check constraint'
        '\\nDETAIL:  Failing row contains (1, sandbox-card, ' + token + ', pending).'
    )

for log in (structlog.get_logger("api").exception, logging.getLogger("uvicorn.error").exception):
    try:
        checkout("{TOKEN}")
    except RuntimeError:
        log("unhandled_error")
structlog.get_logger("ops").warning("unavailable", error="http://orders:{PASSWORD}@ch:8123/db")
logging.getLogger("driver").warning("cannot reach %s", "http://orders:{PASSWORD}@ch:8123/db")
"""


@pytest.mark.parametrize("json", [True, False], ids=["production-json", "local-console"])
def test_log_lines_carry_neither_payment_tokens_nor_store_passwords(json: bool) -> None:
    ran = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("{json}", str(json))],
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.count("Failing row contains (***)") == 2  # both tracebacks, redacted
    assert ran.stderr.count("orders:***@ch:8123") == 2
    assert TOKEN not in ran.stderr
    assert PASSWORD not in ran.stderr
