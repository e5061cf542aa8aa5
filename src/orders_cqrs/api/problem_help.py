"""What each problem type means and what a client should do about it.

Problem ``type``s are URIs of the service (``/problems/<type>``) that resolve to a page built
from this table, as RFC 9457 recommends: a developer who meets a problem in a log can open
its type and read what it means.
"""

from __future__ import annotations

PROBLEM_HELP: dict[str, str] = {
    "validation": "A field, parameter or header is outside what the operation accepts; "
    "`errors` lists where and what. Fix the request; retrying it unchanged never helps.",
    "malformed-request": "The body is not JSON, or a required header is malformed: fix it.",
    "payload-too-large": "The body is larger than the service accepts (ORDERS_MAX_BODY_BYTES).",
    "unauthorized": "No API key, or one the service does not know: send "
    "`Authorization: Bearer <key>`.",
    "forbidden": "The key is known but its role (checkout, support, ops) may not do this.",
    "not-found": "No such order, product, projection or page.",
    "method-not-allowed": "The path exists but not with this method; `Allow` lists those it has.",
    "unsupported-media-type": "Send the body as `application/json`.",
    "unknown-sku": "An item names a SKU the catalogue does not have. Nothing was reserved.",
    "out-of-stock": "Not enough free stock for an item (`sku` says which); nothing was reserved. "
    "Another buyer may have taken the last unit.",
    "version-conflict": "`If-Match` named a version the order (or product) is no longer at: "
    "someone changed it. Read it again (`current_version`), decide again, and resend.",
    "illegal-transition": "The order's status does not allow this command (e.g. shipping an "
    "order that was never captured). Read the order to see its status.",
    "refund-rule": "The refund breaks a rule: only captured orders, within the refund window, "
    "never more than captured minus already refunded.",
    "capture-rule": "The capture breaks a rule: only authorized orders, never more than "
    "authorized.",
    "inventory-conflict": "A restock would set stock on hand below what open orders reserve.",
    "min-version-ahead": "A read asked (`min_version`) for a version the order has not reached "
    "even in the write model; no wait would help. `current_version` says where it is.",
    "rebuild-unsupported": "That projection has no blue/green rebuild.",
    "rebuild-running": "A rebuild of that projection is already running (on some process); "
    "`GET /v1/projections` shows it. Wait for it to finish.",
    "history-gone": "Archived history was pruned and some orders no longer have an event in the "
    "log, so a rebuild would drop them. Nothing was changed.",
    "idempotency-key-missing": "Every mutating call needs an `Idempotency-Key` header (a fresh "
    "UUID per intended operation, the same one on each retry of it).",
    "idempotency-mismatch": "This `Idempotency-Key` was already used with a different request. "
    "Use a new key for a new operation.",
    "idempotency-in-flight": "A request with this `Idempotency-Key` is still running; retry "
    "after `Retry-After` seconds to get its answer.",
    "payment-timeout": "The payment provider did not answer in time. The attempt is recorded; "
    "retry with the same key, or the reconciler finishes it.",
    "payment-in-flight": "An authorization of this order is with the provider; the cancel is "
    "refused so that no hold is left on an order nobody can capture. Retry shortly.",
    "store-busy": "The write store is busy (a lock or statement timeout); retry after "
    "`Retry-After` seconds with the same `Idempotency-Key`.",
    "unavailable": "A backing store is unreachable; retry after `Retry-After` seconds. "
    "Checkouts do not depend on the read stores.",
    "projection-lagging": "The read model has not caught up with `min_version` within the wait "
    "budget. It will: retry after `Retry-After` seconds. Never older data as if it were new.",
    "internal": "An error of the service itself. It is logged; report the `instance`.",
}
