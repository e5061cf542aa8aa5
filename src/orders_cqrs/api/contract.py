"""The OpenAPI text that FastAPI cannot infer: problems, response headers, the type catalogue.

Clients are generated from the document, so it must say everything a response can carry:
which problem types each operation may answer with (grouped by status, each status pointing
at the one ``Problem`` schema), which headers come back (``ETag``, ``Location``,
``Idempotent-Replayed``, ``Retry-After``, ``Link``), and, once for the whole API, every problem
type with its title and status (``x-problem-types``; each ``type`` URI is a page of the
service, ``web/problem_pages.py``).
"""

from __future__ import annotations

from typing import Any

from orders_cqrs.api.problem_help import PROBLEM_HELP
from orders_cqrs.api.problems import PROBLEM_JSON, PROBLEMS, TYPE_PREFIX
from orders_cqrs.api.schemas import Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
Responses = dict[int | str, dict[str, Any]]

# What any request may meet before its route runs, or when the service itself fails.
EVERY_REQUEST = ("payload-too-large", "unsupported-media-type", "internal")
# An operation with a key and parameters: either may be refused.
AUTHENTICATED = ("unauthorized", "forbidden", "validation", *EVERY_REQUEST)
# Reads touch a store; a store that does not answer is a 503 the client may retry.
READ = (*AUTHENTICATED, "unavailable")
# Every mutating call: the Idempotency-Key contract, a malformed header, a busy write store.
COMMAND = (
    "malformed-request",
    "idempotency-key-missing",
    *AUTHENTICATED,
    "idempotency-mismatch",
    "idempotency-in-flight",
    "store-busy",
    "unavailable",
)
# The problem types that come with a Retry-After header.
RETRY_AFTER_TYPES = frozenset(
    {"store-busy", "unavailable", "projection-lagging", "idempotency-in-flight"}
)


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "schema": schema}


ETAG = {
    "ETag": _header(
        'The version as a strong ETag (`"3"`): send it back as `If-Match` or `If-None-Match`.',
        {"type": "string", "pattern": r'^"\d+"$'},
    )
}
LOCATION = {
    "Location": _header("The order's address: `/v1/orders/{order_id}`.", {"type": "string"})
}
IDEMPOTENT_REPLAYED = {
    "Idempotent-Replayed": _header(
        "`true` when this is the stored answer of an earlier request with the same"
        " Idempotency-Key (byte-equal to the first one); absent on a first answer.",
        {"type": "string", "enum": ["true"]},
    )
}
LINK = {
    "Link": _header(
        "`<…>; rel=\"next\"` with the next page's URL (the body's `next`); absent on the last"
        " page.",
        {"type": "string"},
    )
}
RETRY_AFTER = {
    "Retry-After": _header("Seconds to wait before retrying.", {"type": "integer", "minimum": 0})
}
WWW_AUTHENTICATE = {"WWW-Authenticate": _header("`Bearer`.", {"type": "string"})}


def success(
    status: int,
    *,
    headers: dict[str, Any] | None = None,
    description: str | None = None,
    example: Any = None,
    model: type[Any] | None = None,
) -> Responses:
    """A success response's extras: FastAPI adds the route's model schema to the same status
    (``model`` names one for a second success status, such as a PUT's 201)."""
    response: dict[str, Any] = {}
    if headers:
        response["headers"] = headers
    if description is not None:
        response["description"] = description
    if example is not None:
        response["content"] = {"application/json": {"example": example}}
    if model is not None:
        response["model"] = model
    return {status: response}


def problem_responses(*kinds: str) -> Responses:
    """The problem responses of an operation: one per status, naming the types it may carry.

    ``kinds`` are problem types of ``api/problems.py`` (``COMMAND``, ``READ`` … hold the
    common sets); an unknown one fails at import, so the document cannot name a type the
    service never sends.
    """
    by_status: dict[int, list[str]] = {}
    for kind in dict.fromkeys(kinds):
        if kind not in PROBLEMS:
            raise KeyError(f"{kind} is not a problem type of api/problems.py")
        by_status.setdefault(PROBLEMS[kind][0], []).append(kind)
    return {status: _problem_response(by_status[status]) for status in sorted(by_status)}


def problems_by_status(*statuses: int) -> Responses:
    """Problem responses for whole statuses: every type of each (for routes that list
    statuses, not types)."""
    wanted = {*statuses, 401, 403, 413, 415, 422, 500}
    kinds = [kind for kind, (status, _) in PROBLEMS.items() if status in wanted]
    return problem_responses(*kinds)


def _problem_response(kinds: list[str]) -> dict[str, Any]:
    listed = "; ".join(f"`{kind}` ({PROBLEMS[kind][1]})" for kind in kinds)
    response: dict[str, Any] = {
        "description": f"Problem details, `type` one of: {listed}.",
        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        "x-problem-types": [TYPE_PREFIX + kind for kind in kinds],
    }
    headers: dict[str, Any] = {}
    if RETRY_AFTER_TYPES.intersection(kinds):
        headers.update(RETRY_AFTER)
    if "unauthorized" in kinds:
        headers.update(WWW_AUTHENTICATE)
    if headers:
        response["headers"] = headers
    return response


def finish_document(document: dict[str, Any]) -> None:
    """Add what the routes cannot: the ``Problem`` schema and the catalogue of problem types."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    document["x-problem-types"] = [
        {
            "type": TYPE_PREFIX + kind,
            "title": title,
            "status": status,
            "description": PROBLEM_HELP.get(kind, title),
        }
        for kind, (status, title) in PROBLEMS.items()
    ]
