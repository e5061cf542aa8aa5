"""Fixtures of the integration suites: the real ClickHouse engine (chDB), one per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orders_cqrs.readmodels.analytics.schema import migrate
from orders_cqrs.readmodels.analytics.session import ConnectSession


@pytest.fixture(scope="module")
def chdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectSession]:
    """The real ClickHouse engine in this process, in a directory of its own for the module.

    chDB hosts one engine path per process, so the module closes it before the next opens.
    """
    path: Path = tmp_path_factory.mktemp("chdb")
    session = ConnectSession(f"chdb://{path}")
    yield session
    session.close_sync()


@pytest.fixture
async def clean(chdb: ConnectSession) -> ConnectSession:
    """The module's engine with the schema at head and both tables empty."""
    await migrate(chdb)
    for table in ("order_state", "order_events"):
        await chdb.command(f"TRUNCATE TABLE {table}")
        await chdb.command(f"SYSTEM START MERGES {table}")
    return chdb
