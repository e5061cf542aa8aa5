"""``/problems`` and ``/problems/<type>``: the pages that problem ``type`` URIs resolve to."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from orders_cqrs.api.problem_help import PROBLEM_HELP
from orders_cqrs.api.problems import PROBLEMS, TYPE_PREFIX
from orders_cqrs.web.render import error_page, page

router = APIRouter(prefix=TYPE_PREFIX.rstrip("/"), include_in_schema=False)


def _described(kind: str) -> dict[str, object]:
    status, title = PROBLEMS[kind]
    return {"kind": kind, "status": status, "title": title, "help": PROBLEM_HELP[kind]}


@router.get("")
async def problem_index(request: Request) -> Response:
    """Every problem type the service answers with."""
    kinds = [_described(kind) for kind in sorted(PROBLEMS)]
    return page(request, "problems.html", {"kinds": kinds, "one": None})


@router.get("/{kind}")
async def problem_type(request: Request, kind: str) -> Response:
    """One problem type: its status, title and what to do about it."""
    if kind not in PROBLEMS:
        return error_page(request, 404, "No such problem type", f"{kind!r} is not one of ours.")
    return page(request, "problems.html", {"kinds": [], "one": _described(kind)})
