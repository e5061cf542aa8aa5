"""Bad projection admin requests (``/v1/projections/…``): its body is a request body like
any other, its POSTs need an Idempotency-Key like every mutating call, and a projection it
names must exist."""

from __future__ import annotations

from typing import Any

from tests.helpers.api import OPS_KEY
from tests.helpers.bad_requests import NO_BODY, Bad, RowCheck, rows

REPLAY = "/v1/projections/summary/dead-letters/replay"


def invalid_replay(body: dict[str, Any]) -> Bad:
    return Bad("POST", REPLAY, 422, "validation", body, key=OPS_KEY, errors=True)


def without_idempotency_key(path: str, body: Any = NO_BODY) -> Bad:
    return Bad(
        "POST",
        path,
        400,
        "idempotency-key-missing",
        body,
        key=OPS_KEY,
        idempotency_key=False,
        errors=True,
    )


CASES: dict[str, Bad] = {
    "replay-ids-numeric-strings": invalid_replay({"ids": ["1", "2"]}),
    "replay-ids-floats": invalid_replay({"ids": [1.0]}),
    "replay-ids-object": invalid_replay({"ids": {"1": True}}),
    "replay-unknown-member": invalid_replay({"all": True}),
    "replay-unknown-projection": Bad(
        "POST", "/v1/projections/nope/dead-letters/replay", 404, "not-found", key=OPS_KEY
    ),
    "rebuild-without-idempotency-key": without_idempotency_key("/v1/projections/summary/rebuild"),
    "replay-without-idempotency-key": without_idempotency_key(REPLAY, {"ids": [1]}),
    "rebuild-unknown-projection": Bad(
        "POST", "/v1/projections/nope/rebuild", 404, "not-found", key=OPS_KEY
    ),
    "dead-letters-cursor-garbled": Bad(
        "GET", "/v1/projections/summary/dead-letters?after=%25%25", 422, "validation", key=OPS_KEY
    ),
    "dead-letters-limit-0": Bad(
        "GET",
        "/v1/projections/summary/dead-letters?limit=0",
        422,
        "validation",
        key=OPS_KEY,
        errors=True,
    ),
    "projection-name-invalid": Bad(
        "GET", "/v1/projections/NOPE!/dead-letters", 422, "validation", key=OPS_KEY, errors=True
    ),
}


@rows(CASES)
def test_a_bad_admin_request_gets_a_problem_and_changes_nothing(
    case: Bad, assert_refused: RowCheck
) -> None:
    assert_refused(case)
