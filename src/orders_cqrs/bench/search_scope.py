"""Where the bench's search projector may write, and how to leave OpenSearch as it was.

The OpenSearch cluster is shared with development and tests. With an ``ORDERS_SEARCH_ALIAS``
setting the bench gets an alias of its own. Without one, the projector and ``rebuild search``
write to the service's fixed alias (``orders-support`` → ``orders-support-vN``), which tests
and ``make dev`` use too; a concurrent test's index could not be told from the bench's. So
without the setting the search phases run only when asked (``--shared-search``, for a
cluster nobody else uses right now) and when that alias and its indices do not exist yet;
the bench then deletes the indices and template that appeared during the run. Otherwise
the search phases are skipped and the report says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from orders_cqrs.config import Settings
from orders_cqrs.projections.search_index import ALIAS, INDEX_PREFIX, TEMPLATE

BENCH_ALIAS = "orders-bench-support"


@dataclass
class SearchScope:
    """The alias the bench's processes use and what to delete afterwards."""

    url: str
    alias: str
    env: dict[str, str]
    usable: bool
    reason: str = ""
    _indices_before: set[str] = field(default_factory=set)
    _template_before: bool = True

    def cleanup(self) -> None:
        """Delete the indices (and the template) that did not exist when the bench started."""
        if not self.usable:
            return
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for name in _indices(client, self.alias) - self._indices_before:
                client.delete(f"/{name}")
            if not self._template_before:
                client.delete(f"/_index_template/{TEMPLATE}")


def _indices(client: httpx.Client, alias: str) -> set[str]:
    response = client.get(f"/_cat/indices/{alias}*", params={"format": "json", "h": "index"})
    if response.status_code != 200:
        return set()
    return {row["index"] for row in response.json()}


def search_scope(settings: Settings, *, shared: bool = False) -> SearchScope:
    """Decide, before anything starts, whether the search phases can run without harm."""
    url = settings.opensearch_url
    own_alias = "search_alias" in Settings.model_fields
    alias = BENCH_ALIAS if own_alias else ALIAS
    env = {"search_alias": BENCH_ALIAS} if own_alias else {}
    try:
        with httpx.Client(base_url=url, timeout=5) as client:
            before = _indices(client, BENCH_ALIAS if own_alias else INDEX_PREFIX)
            alias_exists = client.head(f"/_alias/{alias}").status_code == 200
            template = client.head(f"/_index_template/{TEMPLATE}").status_code == 200
    except httpx.HTTPError as error:
        return SearchScope(url, alias, env, False, f"OpenSearch unreachable ({error})")
    if not own_alias and not shared:
        return SearchScope(
            url,
            alias,
            env,
            False,
            "skipped: the service has no ORDERS_SEARCH_ALIAS setting yet, so the search"
            f" projector would write to the shared {ALIAS} (--shared-search on an idle cluster)",
        )
    if not own_alias and (alias_exists or before):
        return SearchScope(
            url,
            alias,
            env,
            False,
            f"skipped: {ALIAS} exists on the shared cluster and the service has no"
            " ORDERS_SEARCH_ALIAS setting yet",
        )
    return SearchScope(url, alias, env, True, "", before, template)
