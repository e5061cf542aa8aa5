"""Staff sign-in for both consoles: email and password in, a session cookie or the form again.

The decision is ``staff/signin.py``'s; this module reads the form, finds the client's address
(sign-ins are throttled per account and per address), and answers as a page: the console on
success, the sign-in form with a message otherwise, 429 with ``Retry-After`` when throttled.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from orders_cqrs.bootstrap import Container
from orders_cqrs.staff.accounts import EMAIL_MAX_CHARS
from orders_cqrs.staff.signin import Refused, SignedIn, Throttled
from orders_cqrs.web.render import page
from orders_cqrs.web.session import Console, client_address

KEYS_ARE_FOR_MACHINES = (
    "Sign in with your staff account's email and password. API keys are for machines:"
    " ask an administrator for an account (orders-cqrs staff add)."
)


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _wait(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


async def sign_in(
    request: Request,
    console: Console,
    fields: dict[str, str],
    *,
    template: str,
    target: str,
    context: dict[str, Any],
) -> Response:
    """Sign the form's person in to ``console`` and send them to ``target``; or show
    ``template`` again with why not."""
    container = _container(request)
    email = fields.get("email", "").strip()[: EMAIL_MAX_CHARS + 1]
    password = fields.get("password", "")
    shown = {**context, "email": email}
    if "api_key" in fields and not email:
        return page(request, template, {**shown, "error": KEYS_ARE_FOR_MACHINES}, status_code=422)
    address = client_address(request, container.settings.proxy_networks)
    outcome = await container.staff_sign_in.attempt(
        email, password, address=address, role=console.role
    )
    if isinstance(outcome, SignedIn):
        response = RedirectResponse(target, status_code=303)
        await container.console_sessions.start(request, response, console, outcome.account)
        return response
    if isinstance(outcome, Throttled):
        wait = outcome.retry_after_seconds
        message = f"Too many failed sign-ins. Try again in {_wait(wait)}."
        return page(
            request,
            template,
            {**shown, "error": message},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    assert isinstance(outcome, Refused)
    return page(
        request, template, {**shown, "error": outcome.message}, status_code=outcome.status_code
    )
