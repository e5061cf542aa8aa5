"""Fixtures of the chaos suites: an API with the mixed load's stock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.helpers.mixed_load import stock_products
from tests.helpers.processes import ApiServer


@pytest.fixture
def stocked_api(db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]) -> ApiServer:
    """An API on an empty database, every SKU of the mixed load in stock."""
    api = start_api()
    stock_products(api.url)
    return api
