"""One document the new generation refuses costs that document, not the rebuild.

The support index maps ``total_amount`` as a long. An order's event whose snapshot says
``"amount": "lots"`` is refused by OpenSearch itself (a mapping conflict, HTTP 400 on that
bulk item): ``orders-cqrs rebuild search`` isolates it, parks it as a dead letter under
``search`` and switches readers to the new index all the same. ``verify`` then finds exactly
that order missing; once the cause is fixed, the replay over the API writes it into the index
readers use now, and ``verify`` is clean.

The support index lives under an alias of its own here (``ORDERS_SEARCH_ALIAS``), so that
other suites resetting ``orders-support*`` on the shared cluster cannot delete it mid-test.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import OPS_KEY, headers, order_body, place, put_product
from tests.helpers.processes import ApiServer, run_cli, run_verify
from tests.helpers.search import reset_search_state, wait_searchable

SKU = "SKU-RB-REFUSED"
ORDERS = 12
ALIAS = "orders-refused-rebuild"
SEARCH = {"search_alias": ALIAS}


@pytest.fixture
def own_search_alias() -> Iterator[None]:
    """No index or template of this test's alias before it, nor after it."""
    reset_search_state(ALIAS)
    yield
    reset_search_state(ALIAS)


def test_a_document_the_new_index_refuses_is_dead_lettered_and_the_rebuild_completes(
    db: psycopg.Connection[Any],
    own_search_alias: None,
    start_pipeline: Callable[..., ApiServer],
    database_url: str,
) -> None:
    db.execute("DELETE FROM projection_dead_letters")  # `db` does not truncate this table
    api = start_pipeline(projections=("search",), projector=SEARCH, **SEARCH)
    put_product(api.url, SKU, on_hand=1000)
    placed = [place(api.url, order_body(items=[(SKU, 1)])) for _ in range(ORDERS)]
    assert all(r.status_code == 201 for r in placed), [r.text for r in placed]
    order_ids = [r.json()["order_id"] for r in placed]
    with httpx.Client(base_url=api.url, timeout=15) as client:
        wait_searchable(client, dict.fromkeys(order_ids, 1), q="ada")

    # The victim's only event becomes one the index mapping refuses (the live index already
    # holds the good document: only the rebuild, which reads the outbox, meets the bad one).
    victim = order_ids[ORDERS // 2]
    row = db.execute(
        "UPDATE outbox SET payload = jsonb_set(payload, '{order,total,amount}', '\"lots\"')"
        " WHERE aggregate_id = %s"
        " RETURNING event_id::text, (payload #- '{order,total,amount}')::text",
        (victim,),
    ).fetchone()
    assert row is not None
    victim_event = row[0]

    rebuild = run_cli(
        database_url,
        "rebuild",
        "search",
        projection_max_attempts="2",
        projection_retry_base_seconds="0.05",
        **SEARCH,
    )
    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    assert f"{ALIAS}-v1 → {ALIAS}-v2" in rebuild.stdout, rebuild.stdout
    assert "1 event(s) refused by the new generation were dead-lettered" in rebuild.stdout

    # Drift in exactly one order: the refused one.
    verify = run_verify(database_url, wait=30, projections=("search",), settings=SEARCH)
    assert verify.returncode == 1, verify.stdout + verify.stderr
    assert re.search(rf"^search\s+{ORDERS}\s+1\s+0\s+0\s+0\s+0\s*$", verify.stdout, re.MULTILINE), (
        verify.stdout
    )
    assert f"{victim}: truth 1, read model None" in verify.stdout, verify.stdout

    # Listed under the projection's name, with OpenSearch's reason; the rebuild counts it.
    listed = httpx.get(
        f"{api.url}/v1/projections/search/dead-letters", headers=headers(OPS_KEY), timeout=10
    )
    assert listed.status_code == 200, listed.text
    letters = listed.json()["dead_letters"]
    assert [d["event_id"] for d in letters] == [victim_event], letters
    assert "mapper_parsing_exception" in letters[0]["error"], letters[0]["error"]
    overview = httpx.get(f"{api.url}/v1/projections", headers=headers(OPS_KEY), timeout=10)
    assert overview.status_code == 200, overview.text
    search = next(p for p in overview.json()["projections"] if p["name"] == "search")
    assert search["rebuild"]["state"] == "done", search["rebuild"]
    assert search["rebuild"]["dead_lettered"] == 1, search["rebuild"]
    assert search["dead_letters"] == 1, search

    # Fix the cause where replay reads it (a valid amount), then replay over the API: it
    # lands in the generation readers use now, v2.
    fixed = json.loads(row[1])
    fixed["order"]["total"]["amount"] = placed[ORDERS // 2].json()["total"]["amount"]
    db.execute(
        "UPDATE projection_dead_letters SET entry = jsonb_set(entry, '{payload}', to_jsonb(%s::text))"
        " WHERE projection = 'search' AND event_id = %s",
        (json.dumps(fixed, separators=(",", ":")), victim_event),
    )
    replay = httpx.post(
        f"{api.url}/v1/projections/search/dead-letters/replay",
        headers=headers(OPS_KEY, str(uuid.uuid4())),
        timeout=30,
    )
    assert replay.status_code == 200, replay.text
    assert replay.json() == {"projection": "search", "replayed": 1, "still_failing": 0}

    verify = run_verify(database_url, wait=30, projections=("search",), settings=SEARCH)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert re.search(rf"^search\s+{ORDERS}\s+0\s+0\s+0\s+0\s+0\s*$", verify.stdout, re.MULTILINE), (
        verify.stdout
    )
