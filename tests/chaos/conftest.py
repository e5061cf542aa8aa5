"""Fixtures of the chaos suites: an API with the mixed load's stock, and store outages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from tests.helpers.mixed_load import stock_products
from tests.helpers.outage import StoreOutage, redis_answers
from tests.helpers.processes import ApiServer
from tests.helpers.search import opensearch_answers


@pytest.fixture
def stocked_api(db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]) -> ApiServer:
    """An API on an empty database, every SKU of the mixed load in stock."""
    api = start_api()
    stock_products(api.url)
    return api


@pytest.fixture
def redis_outage() -> Iterator[StoreOutage]:
    """Stops the real Redis on demand; it is started again on teardown, whatever happened."""
    with StoreOutage("redis", "Redis", redis_answers, timeout=120) as outage:
        yield outage


@pytest.fixture
def opensearch_outage() -> Iterator[StoreOutage]:
    """Stops the real OpenSearch on demand; it is started again on teardown, whatever happened."""
    with StoreOutage("opensearch", "OpenSearch", opensearch_answers, timeout=300) as outage:
        yield outage
