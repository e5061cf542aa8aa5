"""Bad projection admin requests (``/v1/projections/…``): its body is a request body like
any other, and a projection it names must exist."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.helpers.api import OPS_KEY
from tests.helpers.bad_requests import (
    Bad,
    World,
    assert_refused_and_nothing_changed,
)

CASES: dict[str, Bad] = {
    "replay-ids-numeric-strings": Bad(
        "POST",
        "/v1/projections/summary/dead-letters/replay",
        422,
        "validation",
        {"ids": ["1", "2"]},
        key=OPS_KEY,
        errors=True,
    ),
    "replay-ids-floats": Bad(
        "POST",
        "/v1/projections/summary/dead-letters/replay",
        422,
        "validation",
        {"ids": [1.0]},
        key=OPS_KEY,
        errors=True,
    ),
    "replay-ids-object": Bad(
        "POST",
        "/v1/projections/summary/dead-letters/replay",
        422,
        "validation",
        {"ids": {"1": True}},
        key=OPS_KEY,
        errors=True,
    ),
    "replay-unknown-member": Bad(
        "POST",
        "/v1/projections/summary/dead-letters/replay",
        422,
        "validation",
        {"all": True},
        key=OPS_KEY,
        errors=True,
    ),
    "replay-unknown-projection": Bad(
        "POST", "/v1/projections/nope/dead-letters/replay", 404, "not-found", key=OPS_KEY
    ),
    "projection-name-invalid": Bad(
        "GET", "/v1/projections/NOPE!/dead-letters", 422, "validation", key=OPS_KEY, errors=True
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_a_bad_admin_request_gets_a_problem_and_changes_nothing(
    world: World, db: psycopg.Connection[Any], case: Bad
) -> None:
    assert_refused_and_nothing_changed(world, db, case)
