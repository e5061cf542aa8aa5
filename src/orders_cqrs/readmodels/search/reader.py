"""Support search over the OpenSearch index. User input only ever lands in ``match`` and
``term`` queries, never in a query-string DSL, so operators and quotes are searched literally."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import NotFoundError

from orders_cqrs.failures.refusals import InvalidSearch
from orders_cqrs.readmodels.search.index import ALIAS

SORTS = {
    "newest": [{"placed_at": "desc"}, {"order_id": "asc"}],
    "oldest": [{"placed_at": "asc"}, {"order_id": "asc"}],
    "total_desc": [{"total_amount": "desc"}, {"order_id": "asc"}],
    "total_asc": [{"total_amount": "asc"}, {"order_id": "asc"}],
    "updated": [{"updated_at": "desc"}, {"order_id": "asc"}],
}
HIGHLIGHT_FIELDS = (
    "order_id.prefix",
    "customer_email.prefix",
    "customer_name",
    "customer_name.prefix",
    "sku_names",
    "sku_names.prefix",
    "notes",
    "tracking_number.prefix",
)
MAX_WINDOW = 10_000


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """What the agent asked for."""

    q: str | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    sort: str = "newest"
    size: int = 20
    page: int = 1
    after: str | None = None
    # The page that ends just before this cursor (the first hit of the page being left): the
    # previous-page link. Exclusive, like ``after``; the two are never sent together.
    before: str | None = None


class BadCursor(ValueError):
    """The ``after`` cursor was not one this service issued."""


def filter_values(raw: list[str] | None) -> list[str]:
    """Filter values as given (repeated, comma-separated or both), trimmed, blanks dropped."""
    values = [v.strip() for item in raw or [] for v in item.split(",") if v.strip()]
    if any(len(v) > 100 for v in values):
        raise InvalidSearch("filter values are at most 100 characters")
    return values


def encode_cursor(sort_values: list[Any]) -> str:
    """An opaque cursor for ``search_after``."""
    return base64.urlsafe_b64encode(json.dumps(sort_values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, name: str = "after") -> list[Any]:
    """The sort values inside a cursor (``name``: the parameter it came in, for the message)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as error:
        raise BadCursor(f"{name} is not a valid cursor") from error
    # Every sort is (a date or an amount as a long, the order id): nothing else is ours.
    if (
        not isinstance(values, list)
        or len(values) != 2
        or not isinstance(values[0], int)
        or isinstance(values[0], bool)
        or not isinstance(values[1], str)
    ):
        raise BadCursor(f"{name} is not a valid cursor")
    return values


def _reversed(sort: list[dict[str, str]]) -> list[dict[str, str]]:
    """The same keys in the opposite directions: ``search_after`` on it walks backwards."""
    flip = {"asc": "desc", "desc": "asc"}
    return [{key: flip[way] for key, way in part.items()} for part in sort]


def build_query(request: SearchRequest) -> dict[str, Any]:
    """The OpenSearch request body."""
    filters: list[dict[str, Any]] = [
        {"terms": {name: values}} for name, values in request.filters.items() if values
    ]
    if request.placed_from or request.placed_to:
        bounds: dict[str, str] = {}
        if request.placed_from:
            bounds["gte"] = request.placed_from.isoformat()
        if request.placed_to:
            bounds["lte"] = request.placed_to.isoformat()
        filters.append({"range": {"placed_at": bounds}})
    must: list[dict[str, Any]] = []
    if request.q:
        text = request.q.strip()
        must.append(
            {
                "bool": {
                    "should": [
                        {"match": {"order_id.prefix": {"query": text, "boost": 6}}},
                        {"match": {"customer_email.prefix": {"query": text, "boost": 5}}},
                        {"match": {"tracking_number.prefix": {"query": text, "boost": 4}}},
                        {"term": {"skus": {"value": text, "boost": 4}}},
                        {
                            "multi_match": {
                                "query": text,
                                "type": "best_fields",
                                "operator": "and",
                                "fields": [
                                    "customer_name^3",
                                    "customer_name.prefix^2",
                                    "sku_names^2",
                                    "sku_names.prefix",
                                    "notes",
                                    "city",
                                ],
                            }
                        },
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    body: dict[str, Any] = {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "sort": SORTS[request.sort],
        "size": request.size,
        "track_total_hits": True,
        "highlight": {
            "encoder": "html",  # fragments come back HTML-escaped, except our own tags
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            "fields": {name: {"number_of_fragments": 1} for name in HIGHLIGHT_FIELDS},
        },
    }
    if request.after and request.before:
        raise BadCursor("send after or before, not both")
    if request.before:
        # Backwards from the cursor, one hit more than a page: that one only tells whether
        # a page lies before this one (``search_orders`` drops it and restores the order).
        body["sort"] = _reversed(SORTS[request.sort])
        body["size"] = request.size + 1
        body["search_after"] = decode_cursor(request.before, "before")
    elif request.after:
        body["search_after"] = decode_cursor(request.after)
    else:
        body["from"] = (request.page - 1) * request.size
    return body


def _hit(raw: dict[str, Any]) -> dict[str, Any]:
    source = raw["_source"]
    highlights: dict[str, list[str]] = {}
    for name, fragments in (raw.get("highlight") or {}).items():
        highlights.setdefault(name.split(".")[0], []).extend(fragments)
    return {
        "order_id": source["order_id"],
        "status": source["status"],
        "payment_state": source["payment_state"],
        "provider": source["provider"],
        "risk_flags": source["risk_flags"],
        "customer": {
            "id": source["customer_id"],
            "name": source["customer_name"],
            "email": source["customer_email"],
        },
        "region": source["region"],
        "country": source["country"],
        "total": {"amount": source["total_amount"], "currency": source["currency"]},
        "placed_at": source["placed_at"],
        "source_version": source["source_version"],
        "projected_at": source["projected_at"],
        "highlights": highlights,
    }


async def search_orders(
    client: AsyncOpenSearch, request: SearchRequest, *, index: str = ALIAS
) -> dict[str, Any]:
    """Run the search; hits, total, highlights, and the cursors of the next page (``after``)
    and of the previous one (``before``), each None when there is no such page."""
    cursor = request.after or request.before
    if not cursor and request.page * request.size > MAX_WINDOW:
        raise BadCursor(f"pages beyond {MAX_WINDOW} hits need the `after` cursor")
    try:
        response = await client.search(index=index, body=build_query(request))
    except NotFoundError:
        # The index appears with the first projected order; before that, nothing matches.
        return {"total": 0, "hits": [], "next_after": None, "prev_before": None, "took_ms": 0}
    hits = response["hits"]["hits"]
    if request.before:
        earlier = len(hits) > request.size
        hits = hits[: request.size][::-1]
        # Walking back from a page we left, so a page follows this one.
        next_after = encode_cursor(hits[-1]["sort"]) if hits else None
    else:
        earlier = bool(cursor) or request.page > 1
        next_after = encode_cursor(hits[-1]["sort"]) if len(hits) == request.size else None
    prev_before = encode_cursor(hits[0]["sort"]) if hits and earlier else None
    return {
        "total": response["hits"]["total"]["value"],
        "hits": [_hit(hit) for hit in hits],
        "next_after": next_after,
        "prev_before": prev_before,
        "took_ms": response.get("took"),
    }


class SearchVersions:
    """``source_version`` of many orders at once from the support index, for drift checks."""

    name = "search"

    def __init__(self, client: AsyncOpenSearch, *, alias: str = ALIAS) -> None:
        self.client = client
        self.alias = alias

    async def versions(self, order_ids: list[str]) -> list[int | None]:
        """The index's version of each order (None: missing), in the same order."""
        if not order_ids:
            return []
        try:
            response = await self.client.mget(
                index=self.alias,
                body={"ids": order_ids},
                params={"_source_includes": "source_version"},
            )
        except NotFoundError:
            return [None] * len(order_ids)
        return [
            int(doc["_source"]["source_version"]) if doc.get("found") else None
            for doc in response["docs"]
        ]


class SupportSearch:
    """The support index as the search page and endpoint use it: one client, one alias."""

    def __init__(self, client: AsyncOpenSearch, *, alias: str = ALIAS) -> None:
        self.client = client
        self.alias = alias

    async def orders(self, request: SearchRequest) -> dict[str, Any]:
        """Run ``request`` against the live generation (see ``search_orders``)."""
        return await search_orders(self.client, request, index=self.alias)
