"""The OpenAPI document names every operation as a client author would (``placeOrder``)."""

from __future__ import annotations

import re

from orders_cqrs.api.operations import OPERATIONS
from orders_cqrs.entrypoints.app import create_app


def test_every_operation_has_its_own_camel_case_id_and_a_summary() -> None:
    document = create_app().openapi()
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    ids = [operation["operationId"] for _, operation in operations]
    assert len(ids) == len(set(ids)), ids
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", op_id) for op_id in ids), ids
    assert {key for key, _ in operations} == set(OPERATIONS), "a stale or missing entry"
    named = {key: operation["operationId"] for key, operation in operations}
    assert named["POST /v1/orders"] == "placeOrder"
    assert named["GET /v1/orders/{order_id}"] == "getOrder"
    assert all(operation["summary"] for _, operation in operations)
