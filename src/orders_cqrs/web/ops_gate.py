"""What every ops page past the sign-in shares: the operator, or the way to the sign-in page,
and errors shown as ops pages (the support console's error page leads back to search)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from orders_cqrs.web.ops import cross_site, operator
from orders_cqrs.web.render import page, secured


async def operator_or_login(request: Request) -> str | Response:
    """The signed-in operator's id, or a redirect to the ops sign-in page."""
    client_id = await operator(request)
    if client_id is None:
        return secured(RedirectResponse("/ops/login", status_code=303))
    return client_id


async def form_operator(request: Request) -> str | Response:
    """For a posted form: the operator, unless the form came from another site (the
    SameSite=Strict cookie is the first wall, ``same_site_form`` the second)."""
    if cross_site(request):
        return ops_error(request, 403, "Refused", "That form was sent from another site.")
    return await operator_or_login(request)


def ops_error(
    request: Request, status_code: int, title: str, detail: str, **context: Any
) -> Response:
    """An error as an ops page, with the way back to the ops page."""
    values = {"title": title, "detail": detail, "status": status_code, **context}
    return page(request, "ops_error.html", values, status_code=status_code)
