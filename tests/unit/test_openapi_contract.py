"""The OpenAPI document is one a client can be generated from: valid, every operation named,
every answer described (bodies, headers, problems), the main requests with examples.

It is built in-process (``test_the_live_server_serves_this_contract`` in the fuzz suite
proves the live ``/openapi.json`` is the same document).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from orders_cqrs.api.problems import PROBLEMS, TYPE_PREFIX
from orders_cqrs.config import Settings
from orders_cqrs.entrypoints.app import create_app

PROBLEM_REF = "#/components/schemas/Problem"
CAMEL_CASE = re.compile(r"[a-z]+(?:[A-Z][a-z0-9]*)*")
Operation = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings(environment="test")).openapi()


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A ``$ref`` followed to its schema in the components."""
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def is_free_form(schema: dict[str, Any]) -> bool:
    """``{}``, a bare ``object``, or a map of anything: a body a client cannot be typed from."""
    if not schema or set(schema) <= {"title", "description"}:
        return True
    if schema.get("type") == "object" and not schema.get("properties"):
        values = schema.get("additionalProperties", True)
        return values is True or values == {}
    return False


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_operation_has_a_camel_case_id_and_a_summary(document: dict[str, Any]) -> None:
    unnamed = [
        key
        for key, operation in operations(document)
        if not CAMEL_CASE.fullmatch(operation.get("operationId", ""))
        or not operation.get("summary")
    ]
    assert unnamed == []


def test_no_success_answer_is_without_a_schema_or_free_form(document: dict[str, Any]) -> None:
    loose = []
    for key, operation in operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            content = response.get("content")
            if not content:
                loose.append(f"{key} {status}: no content")
                continue
            for media_type, body in content.items():
                schema = body.get("schema")
                if schema is None:
                    loose.append(f"{key} {status} {media_type}: no schema")
                elif media_type.endswith("json") and is_free_form(resolve(document, schema)):
                    loose.append(f"{key} {status} {media_type}: free-form {schema}")
    assert loose == [], "\n".join(loose)


def test_every_4xx_and_5xx_is_the_problem_schema_naming_its_types(
    document: dict[str, Any],
) -> None:
    catalogue = {entry["type"]: entry for entry in document["x-problem-types"]}
    wrong = []
    for key, operation in operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            content = response.get("content", {})
            if list(content) != ["application/problem+json"]:
                wrong.append(f"{key} {status}: {sorted(content)}")
            elif content["application/problem+json"].get("schema") != {"$ref": PROBLEM_REF}:
                wrong.append(f"{key} {status}: not the Problem schema")
            kinds = response.get("x-problem-types", [])
            if not kinds or any(
                catalogue.get(kind, {}).get("status") != int(status) for kind in kinds
            ):
                wrong.append(f"{key} {status}: problem types {kinds}")
    assert wrong == [], "\n".join(wrong)


def test_the_problem_types_are_listed_once_with_titles_and_pages(document: dict[str, Any]) -> None:
    listed = [entry["type"] for entry in document["x-problem-types"]]
    assert listed == [TYPE_PREFIX + kind for kind in PROBLEMS]
    assert all(entry["title"] and entry["description"] for entry in document["x-problem-types"])
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}


def _headers(document: dict[str, Any], key: str, status: str) -> set[str]:
    method, path = key.split(" ", 1)
    return set(document["paths"][path][method.lower()]["responses"][status].get("headers", {}))


def test_the_headers_each_answer_carries_are_documented(document: dict[str, Any]) -> None:
    for key, operation in operations(document):
        responses = operation["responses"]
        if key.startswith(("POST ", "PUT ")):
            success = next(status for status in responses if status.startswith("2"))
            assert "Idempotent-Replayed" in _headers(document, key, success), key
        for status in ("401", "503"):
            if status in responses:
                expected = "WWW-Authenticate" if status == "401" else "Retry-After"
                assert expected in _headers(document, key, status), (key, status)
    for created in ("POST /v1/orders", "POST /v1/orders/{order_id}/refunds"):
        assert {"ETag", "Location"} <= _headers(document, created, "201")
    for read in ("GET /v1/orders/{order_id}", "GET /v1/support/orders/{order_id}"):
        assert "ETag" in _headers(document, read, "200")
    assert "ETag" in _headers(document, "GET /v1/orders/{order_id}", "304")
    for listing in ("/v1/customers/{customer_id}/orders", "/v1/projections/{name}/dead-letters"):
        assert "Link" in _headers(document, f"GET {listing}", "200")


def test_the_main_requests_come_with_examples(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for method, path in (
        ("post", "/v1/orders"),
        ("post", "/v1/orders/{order_id}/refunds"),
        ("post", "/v1/orders/{order_id}/cancel"),
        ("put", "/v1/inventory/{sku}"),
    ):
        body = paths[path][method]["requestBody"]["content"]["application/json"]
        assert body.get("examples"), (method, path)
    authorized = paths["/v1/orders/{order_id}/authorize"]["post"]["responses"]["200"]
    assert authorized["content"]["application/json"]["example"]["status"] == "AUTHORIZED"
