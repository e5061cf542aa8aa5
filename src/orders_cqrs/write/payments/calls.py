"""Counting and timing the calls to payment providers, the same way at every call site.

A provider is a third party on the checkout's path: how long it takes, per provider and
operation, is what tells a slow provider from a slow service. A call that gets no answer in
time is timed until the caller gave up (result ``timeout`` / ``void_timeout``).
"""

from __future__ import annotations

import time
from typing import Literal

from orders_cqrs.observability import metrics

Operation = Literal["authorize", "void", "retrieve"]


def record_call(
    provider: str, operation: Operation, result: str, started: float, *, counted: bool = True
) -> None:
    """Observe a call that began at ``started`` (``time.perf_counter()``).

    ``counted`` also adds it to ``orders_payment_provider_calls_total``: the client's own
    calls are counted there; the reconciler's questions (retrieve) are only timed, so the
    payment-timeout alert's ratio stays one of customers' authorizations and voids.
    """
    elapsed = time.perf_counter() - started
    metrics.PAYMENT_CALL_SECONDS.labels(provider, operation, result).observe(elapsed)
    if counted:
        metrics.PAYMENT_CALLS.labels(provider, result).inc()
