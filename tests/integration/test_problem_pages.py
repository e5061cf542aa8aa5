"""Problem ``type``s resolve: each is a page of the service saying what it means (RFC 9457)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import httpx
import psycopg

from orders_cqrs.api.problem_help import PROBLEM_HELP
from orders_cqrs.api.problems import PROBLEMS
from tests.helpers.api import CHECKOUT_KEY, headers
from tests.helpers.processes import ApiServer


def test_every_problem_type_resolves_to_a_page_that_explains_it(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api()
    assert set(PROBLEM_HELP) == set(PROBLEMS)
    refused = httpx.get(f"{api.url}/v1/orders/not-a-uuid", headers=headers(CHECKOUT_KEY))
    assert refused.status_code == 422
    # A client resolves the type against the URL it asked, as with any URI reference.
    explained = httpx.get(urljoin(str(refused.url), refused.json()["type"]))
    assert explained.status_code == 200
    assert explained.headers["content-type"].startswith("text/html")
    assert PROBLEMS["validation"][1] in explained.text
    with httpx.Client(base_url=api.url) as client:
        listing = client.get("/problems")
        assert listing.status_code == 200
        for kind, (status, title) in PROBLEMS.items():
            assert f'href="/problems/{kind}"' in listing.text, kind
            page = client.get(f"/problems/{kind}")
            assert page.status_code == 200, kind
            assert str(status) in page.text and title.replace("'", "&#39;") in page.text, kind
        assert client.get("/problems/no-such-thing").status_code == 404
