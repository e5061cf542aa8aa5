"""The support index: template, mappings and analyzers, behind the alias ``orders-support``.

Designed for what an agent types on the phone: the first characters of an order id or an
email (edge n-grams over the whole value), half a surname (edge n-grams over each word), a
SKU name word or a note word (full text), plus keyword fields for exact filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALIAS = "orders-support"
INDEX_PREFIX = "orders-support-v"
TEMPLATE = "orders-support"

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "refresh_interval": "1s",
    "max_ngram_diff": 40,
    "analysis": {
        "filter": {
            "prefix_2_40": {"type": "edge_ngram", "min_gram": 2, "max_gram": 40},
            "truncate_40": {"type": "truncate", "length": 40},
        },
        "analyzer": {
            # whole value, lower-cased, every prefix: "8c0b4b94-7902…" → "8c", "8c0", …
            "whole_prefix": {
                "type": "custom",
                "tokenizer": "keyword",
                "filter": ["lowercase", "prefix_2_40"],
            },
            # the query side: a pasted value longer than the longest indexed prefix still
            # matches, because it is cut to that length too
            "whole_lower": {
                "type": "custom",
                "tokenizer": "keyword",
                "filter": ["lowercase", "truncate_40"],
            },
            # each word, lower-cased, every prefix: "Lovelace" → "lo", "lov", …
            "word_prefix": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "asciifolding", "prefix_2_40"],
            },
            "words": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "asciifolding"],
            },
        },
    },
}


def _prefixed(kind: str = "keyword") -> dict[str, Any]:
    return {
        "type": kind,
        "fields": {
            "prefix": {
                "type": "text",
                "analyzer": "whole_prefix",
                "search_analyzer": "whole_lower",
            }
        },
    }


MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "order_id": _prefixed(),
        "status": {"type": "keyword"},
        "payment_state": {"type": "keyword"},
        "provider": {"type": "keyword"},
        "risk_flags": {"type": "keyword"},
        "customer_id": {"type": "keyword"},
        "customer_email": _prefixed(),
        "customer_name": {
            "type": "text",
            "analyzer": "words",
            "fields": {
                "prefix": {"type": "text", "analyzer": "word_prefix", "search_analyzer": "words"},
                "raw": {"type": "keyword"},
            },
        },
        "country": {"type": "keyword"},
        "region": {"type": "keyword"},
        "city": {"type": "text", "analyzer": "words", "fields": {"raw": {"type": "keyword"}}},
        "postal_code": {"type": "keyword"},
        "skus": {"type": "keyword"},
        "sku_names": {
            "type": "text",
            "analyzer": "words",
            "fields": {
                "prefix": {"type": "text", "analyzer": "word_prefix", "search_analyzer": "words"}
            },
        },
        "notes": {"type": "text", "analyzer": "words"},
        "carrier": {"type": "keyword"},
        "tracking_number": _prefixed(),
        "currency": {"type": "keyword"},
        "total_amount": {"type": "long"},
        "refunded_amount": {"type": "long"},
        "placed_at": {"type": "date"},
        "updated_at": {"type": "date"},
        "source_version": {"type": "long"},
        "last_event_id": {"type": "keyword"},
        "projected_at": {"type": "date"},
    },
}

INDEX_TEMPLATE: dict[str, Any] = {
    "index_patterns": [f"{INDEX_PREFIX}*"],
    "template": {"settings": SETTINGS, "mappings": MAPPINGS},
    "priority": 100,
}


@dataclass(frozen=True, slots=True)
class IndexNames:
    """Where the support index lives: the alias, its ``<alias>-vN`` generations, the template.

    One cluster can hold several (``ORDERS_SEARCH_ALIAS``), e.g. ``make bench`` beside the
    dev data; the defaults are the module's constants.
    """

    alias: str = ALIAS

    @property
    def prefix(self) -> str:
        """Generations are ``<prefix>1``, ``<prefix>2``, …"""
        return f"{self.alias}-v"

    @property
    def template_name(self) -> str:
        """The index template's name."""
        return self.alias

    def template(self) -> dict[str, Any]:
        """The index template for this alias's generations."""
        return {**INDEX_TEMPLATE, "index_patterns": [f"{self.prefix}*"]}


def document(order: dict[str, Any], *, last_event_id: str, projected_at: str) -> dict[str, Any]:
    """The search document of an order snapshot, stamped with its freshness."""
    shipment = order.get("shipment") or {}
    return {
        "order_id": order["order_id"],
        "status": order["status"],
        "payment_state": order["payment"]["state"],
        "provider": order["payment"]["provider"],
        "risk_flags": order["risk_flags"],
        "customer_id": order["customer"]["id"],
        "customer_email": order["customer"]["email"],
        "customer_name": order["customer"]["name"],
        "country": order["shipping_address"]["country"],
        "region": order["shipping_address"]["region"],
        "city": order["shipping_address"]["city"],
        "postal_code": order["shipping_address"]["postal_code"],
        "skus": [item["sku"] for item in order["items"]],
        "sku_names": [item["name"] for item in order["items"]],
        "notes": [note["body"] for note in order["notes"]],
        "carrier": shipment.get("carrier"),
        "tracking_number": shipment.get("tracking_number"),
        "currency": order["currency"],
        "total_amount": order["total"]["amount"],
        "refunded_amount": order["payment"]["refunded"],
        "placed_at": order["placed_at"],
        "updated_at": order["updated_at"],
        "source_version": order["version"],
        "last_event_id": last_event_id,
        "projected_at": projected_at,
    }
