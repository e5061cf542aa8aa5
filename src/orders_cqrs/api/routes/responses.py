"""Turning command outcomes into HTTP responses, and the OpenAPI text they share."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from orders_cqrs.api.contract import problems_by_status
from orders_cqrs.domain import commands
from orders_cqrs.write.admin_requests import CloseAdminRequest
from orders_cqrs.write.context import Accepted, CommandOutcome

# Commands that answer 201 with the order's address: a new order, or a refund or note on it.
_CREATE_ON_AN_ORDER = (commands.PlaceOrder, commands.IssueRefund, commands.AddSupportNote)


def response_shape(command: object, accepted: Accepted) -> tuple[int, dict[str, str]]:
    """The status code and headers an accepted command answers with.

    The executor stores them in the idempotency receipt inside the command's transaction
    (and the reconciler completes an authorization's receipt with no route in sight), so the
    route cannot set them afterwards: ``bootstrap`` hands this function to the executor.
    """
    if isinstance(command, CloseAdminRequest):  # no order, hence no ETag
        return command.answer.status, {}
    headers = {"ETag": f'"{accepted.version_after}"'}
    if isinstance(command, commands.PutProduct):
        return (201 if accepted.version_before is None else 200), headers
    if isinstance(command, _CREATE_ON_AN_ORDER):
        headers["Location"] = f"/v1/orders/{accepted.order_id}"
        return 201, headers
    return 200, headers


def command_response(outcome: CommandOutcome) -> Response:
    """The outcome's exact bytes (replays are byte-equal), status and headers."""
    return Response(
        content=outcome.body,
        status_code=outcome.status_code,
        media_type="application/json",
        headers=outcome.headers,
    )


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem responses by status (every type of each): ``api/contract.py`` has the
    per-type ``problem_responses`` that routes should prefer."""
    return problems_by_status(*statuses)
