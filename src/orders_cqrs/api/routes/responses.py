"""Turning command outcomes into HTTP responses, and the OpenAPI text they share."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from orders_cqrs.api.schemas import Problem
from orders_cqrs.write.context import CommandOutcome


def command_response(outcome: CommandOutcome) -> Response:
    """The outcome's exact bytes (replays are byte-equal), status and headers."""
    return Response(
        content=outcome.body,
        status_code=outcome.status_code,
        media_type="application/json",
        headers=outcome.headers,
    )


PROBLEM_SCHEMA = Problem.model_json_schema()


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses an operation can give (problem+json only)."""
    return {
        status: {
            "description": "RFC 9457 problem details",
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        }
        for status in (400, 401, 403, 413, 415, 422, *statuses)
    }
