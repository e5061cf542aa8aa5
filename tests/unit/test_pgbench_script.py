"""The bench's pgbench script: captured ids become variables, and nothing else does."""

from __future__ import annotations

import uuid

import pytest

from orders_cqrs.tooling.bench.capture import UUID_VARIABLES, Capture, pgbench_script

SKU = "BENCH-SKU-0007"


def capture_with(client_id: str) -> Capture:
    ids = {name: uuid.uuid4() for name in UUID_VARIABLES}
    messages = [
        "BEGIN;\nINSERT INTO idempotency_receipts (client_id, key) "
        f"VALUES ('{client_id}', '{ids['key']}')",
        f"INSERT INTO orders (id, customer_id) VALUES ('{ids['order']}', '{ids['customer']}');\n"
        f"INSERT INTO outbox (event_id, headers) VALUES ('{ids['event']}', "
        f'\'{{"command_id": "{ids["command"].hex}", "sku": "{SKU}"}}\');\nCOMMIT',
    ]
    return Capture(messages, ids, SKU, "Bench product 0007")


@pytest.mark.parametrize("client_id", ["checkout:bad3f00d1234", "checkout:bcustomer1ab", "ops:0a1"])
def test_a_client_id_that_looks_like_a_variable_passes_through_unchanged(client_id: str) -> None:
    script = pgbench_script(capture_with(client_id), (1, 100))
    assert f"'{client_id}'" in script
    assert ":border1-:border2-:border3-:border4-:border5" in script
    assert ":bsku" in script


def test_text_that_reads_as_one_of_our_variables_is_refused() -> None:
    with pytest.raises(RuntimeError, match="reads as one of our variables"):
        pgbench_script(capture_with("checkout::bsku"), (1, 100))
