"""The world every bad-input row starts from, and the one API process that answers them all.

Each module of this package is one part of the table (a resource, or a part of the request
envelope every resource shares); ``tests/helpers/bad_requests.py`` says what a row is and
what "changes nothing" means.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.helpers.api import order_body, place, put_product
from tests.helpers.bad_requests import SKU, RowCheck, World, assert_refused_and_nothing_changed
from tests.helpers.processes import ApiServer, worker_env


@pytest.fixture(scope="package")
def server(database_url: str) -> Iterator[ApiServer]:
    """One API process for the whole table; each row gets a freshly seeded database."""
    api = ApiServer(env=worker_env(database_url, {})).start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def world(server: ApiServer, db: psycopg.Connection[Any]) -> World:
    """SKU-OK with 100 on hand and 2 reserved by one placed order (PENDING_PAYMENT)."""
    put_product(server.url, SKU, on_hand=100)
    response = place(server.url, order_body(items=[(SKU, 2)]))
    assert response.status_code == 201, response.text
    return World(server.url, response.json()["order_id"])


@pytest.fixture
def assert_refused(world: World, db: psycopg.Connection[Any]) -> RowCheck:
    """Send a row against the seeded world: it gets its problem and changes nothing."""
    return lambda case: assert_refused_and_nothing_changed(world, db, case)
