"""The bench's own support index on the shared OpenSearch, and how to leave the cluster as it was.

The cluster is shared with development and tests, so the bench's processes run with an alias
of their own (``ORDERS_SEARCH_ALIAS=orders-bench-support``: generations
``orders-bench-support-vN`` and a template of that name). Afterwards it deletes exactly the
indices and the template of that alias that did not exist when it started.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from orders_cqrs.config import Settings
from orders_cqrs.readmodels.search.index import IndexNames

BENCH_NAMES = IndexNames("orders-bench-support")


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
            for name in _indices(client, BENCH_NAMES.prefix) - self._indices_before:
                client.delete(f"/{name}")
            if not self._template_before:
                client.delete(f"/_index_template/{BENCH_NAMES.template_name}")


def _indices(client: httpx.Client, prefix: str) -> set[str]:
    response = client.get(f"/_cat/indices/{prefix}*", params={"format": "json", "h": "index"})
    if response.status_code != 200:
        return set()
    return {row["index"] for row in response.json()}


def search_scope(settings: Settings) -> SearchScope:
    """The bench's alias, once OpenSearch answers (else the search phases are skipped)."""
    url = settings.opensearch_url
    env = {"search_alias": BENCH_NAMES.alias}
    try:
        with httpx.Client(base_url=url, timeout=5) as client:
            before = _indices(client, BENCH_NAMES.prefix)
            template_path = f"/_index_template/{BENCH_NAMES.template_name}"
            template = client.head(template_path).status_code == 200
    except httpx.HTTPError as error:
        return SearchScope(url, BENCH_NAMES.alias, env, False, f"OpenSearch unreachable ({error})")
    return SearchScope(url, BENCH_NAMES.alias, env, True, "", before, template)
