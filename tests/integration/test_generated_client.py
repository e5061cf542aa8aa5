"""A typed client generated from the live ``/openapi.json`` works against the live server.

``openapi-python-client`` (a dev dependency, beside the test's interpreter) generates the
client into the test's temporary directory; nothing generated is kept. The test then stocks
a product, places an order, authorizes it and reads it back, every call through the
generated functions and models, with each role's API key.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, order_body
from tests.helpers.processes import ApiServer
from tests.helpers.waiting import wait_until

PACKAGE = "orders_cqrs_client"
SKU = "SKU-GEN-1"


def generate(document_url: str, into: Path) -> Path:
    """Generate the client package from ``document_url``; the directory to import it from."""
    document = into / "openapi.json"
    document.write_bytes(httpx.get(document_url, timeout=30).content)
    config = into / "generator.yaml"
    config.write_text(
        f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\npost_hooks: []\n"
    )
    generator = Path(sys.executable).parent / "openapi-python-client"
    options = ["--config", str(config), "--meta", "none", "--fail-on-warning"]
    output = ["--output-path", str(into / PACKAGE)]
    result = subprocess.run(
        [str(generator), "generate", "--path", str(document), *options, *output],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return into


@pytest.fixture
def generated(start_pipeline: Callable[..., ApiServer], tmp_path: Path) -> Iterator[Any]:
    """(the live API, the generated package's modules by name)."""
    api = start_pipeline()
    sys.path.insert(0, str(generate(f"{api.url}/openapi.json", tmp_path)))
    try:
        modules = {
            name: importlib.import_module(f"{PACKAGE}.{name}")
            for name in (
                "client",
                "models",
                "api.inventory.put_product",
                "api.orders.place_order",
                "api.orders.authorize_payment",
                "api.reads.get_order",
                "api.reads.list_customer_orders",
            )
        }
        yield api, modules
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def as_role(modules: dict[str, ModuleType], api: ApiServer, key: str) -> Any:
    return modules["client"].AuthenticatedClient(base_url=api.url, token=key, timeout=30)


def test_a_generated_client_places_authorizes_and_reads_an_order(generated: Any) -> None:
    api, modules = generated
    models = modules["models"]
    ops, checkout = as_role(modules, api, OPS_KEY), as_role(modules, api, CHECKOUT_KEY)

    stocked = modules["api.inventory.put_product"].sync_detailed(
        SKU,
        client=ops,
        body=models.ProductIn.from_dict(
            {"name": "Mug", "unit_price": {"amount": 1499, "currency": "EUR"}, "on_hand": 5}
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    assert stocked.status_code == HTTPStatus.CREATED, stocked.content
    assert isinstance(stocked.parsed, models.ProductOut) and stocked.parsed.available == 5

    customer = str(uuid.uuid4())
    placed = modules["api.orders.place_order"].sync_detailed(
        client=checkout,
        body=models.PlaceOrderIn.from_dict(order_body(items=[(SKU, 2)], customer_id=customer)),
        idempotency_key=str(uuid.uuid4()),
    )
    assert placed.status_code == HTTPStatus.CREATED, placed.content
    order = placed.parsed
    assert isinstance(order, models.OrderOut)
    assert order.status == models.OrderStatus.PENDING_PAYMENT
    assert order.total.amount == 2998 and order.items[0].sku == SKU
    assert placed.headers["Location"] == f"/v1/orders/{order.order_id}"

    authorized = modules["api.orders.authorize_payment"].sync_detailed(
        order.order_id, client=checkout, idempotency_key=str(uuid.uuid4())
    )
    assert authorized.status_code == HTTPStatus.OK, authorized.content
    assert authorized.parsed.status == models.OrderStatus.AUTHORIZED
    assert authorized.parsed.payment.state == models.PaymentState.AUTHORIZED
    assert authorized.headers["ETag"] == '"2"'

    reads: list[Any] = []

    def read_version_2() -> bool:
        reads.append(
            modules["api.reads.get_order"].sync_detailed(
                order.order_id, client=checkout, min_version=2
            )
        )
        return reads[-1].status_code == HTTPStatus.OK

    wait_until(read_version_2, 30, "the generated client reads version 2")
    read = reads[-1].parsed
    assert isinstance(read, models.OrderView)
    assert read.order_id == order.order_id and read.version == 2
    assert read.status == models.OrderStatus.AUTHORIZED
    assert read.freshness.source_version == 2

    listed = modules["api.reads.list_customer_orders"].sync_detailed(
        uuid.UUID(customer), client=checkout
    )
    assert listed.status_code == HTTPStatus.OK, listed.content
    assert [o.order_id for o in listed.parsed.orders] == [order.order_id]
    assert listed.parsed.next_ is None
