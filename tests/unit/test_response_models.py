"""The response models say what the service really sends: every version of a real order's
snapshot, a read with its freshness, a dead letter and a rebuild record validate against the
schemas of the OpenAPI document (the fuzz suite checks the live answers the same way)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator

from orders_cqrs.config import Settings
from orders_cqrs.db.dead_letters import DeadLetter
from orders_cqrs.db.rebuilds import RebuildRecord
from orders_cqrs.entrypoints.app import create_app
from orders_cqrs.readmodels.freshness import Freshness
from tests.helpers.events import MAX_VERSIONS, order_history

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings(environment="test")).openapi()


def assert_conforms(document: dict[str, Any], schema: str, body: Any) -> None:
    """``body``, through JSON as the client gets it, is valid by the named component schema."""
    root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    validator = OAS31Validator(root, format_checker=OAS31Validator.FORMAT_CHECKER)
    validator.validate(json.loads(json.dumps(body)))


def snapshots() -> list[dict[str, Any]]:
    events = order_history(uuid.uuid4(), MAX_VERSIONS)
    return [event.payload["order"] for event in events]


def test_every_snapshot_of_an_order_is_an_order_out(document: dict[str, Any]) -> None:
    for snapshot in snapshots():
        assert_conforms(document, "OrderOut", snapshot)


def test_a_summary_read_is_an_order_view(document: dict[str, Any]) -> None:
    snapshot = snapshots()[-1]
    freshness = Freshness(snapshot["version"], str(uuid.uuid4()), NOW.isoformat(), None)
    assert_conforms(document, "OrderView", {**snapshot, "freshness": freshness.to_dict()})


def test_a_read_without_its_freshness_is_not_an_order_view(document: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        assert_conforms(document, "OrderView", snapshots()[0])


def test_a_dead_letter_and_a_rebuild_record_are_their_views(document: dict[str, Any]) -> None:
    letter = DeadLetter(
        id=7,
        projection="summary",
        stream_id="1-0",
        event_id=str(uuid.uuid4()),
        position=3,
        aggregate_id=str(uuid.uuid4()),
        aggregate_version=1,
        event_type="OrderPlaced",
        entry={},
        error="KeyError('order')",
        attempts=5,
        first_failed_at=NOW,
        failed_at=NOW,
        replayed_at=None,
    )
    page = {"projection": "summary", "dead_letters": [letter.to_dict()], "next": None}
    assert_conforms(document, "DeadLetterPage", page)
    record = RebuildRecord(
        projection="summary",
        state="running",
        started_by="ops",
        old_generation="v1",
        new_generation="v2",
        consumer_group="summary-rebuild-v2",
        total=None,
        scanned=10,
        caught_up=None,
        dead_lettered=0,
        error=None,
        started_at=NOW,
        updated_at=NOW,
        finished_at=None,
    )
    assert_conforms(document, "RebuildState", record.to_dict())
