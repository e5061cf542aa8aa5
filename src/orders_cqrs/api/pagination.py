"""Cursor pagination: opaque ``after`` cursors, ``next`` URLs and ``Link: rel="next"`` headers.

A cursor is the sort key of the last item a page showed, so the next page starts strictly
after it whatever was added in between: no item is shown twice, and none is skipped that
existed when the first page was read. Offsets could not promise that on a list that grows
at its head. The cursor names its listing and the listing's scope (the customer, the
projection), so one issued for another customer or another listing is refused as a 422
problem instead of paging through the wrong list.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from orders_cqrs.failures.refusals import InvalidCursor

MAX_CURSOR_LENGTH = 500
# The ``after`` query parameter of every paged listing.
AfterCursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        description="The cursor of a `next` link: the page after the one it ended.",
    ),
]


def encode_cursor(listing: str, scope: str, key: list[Any]) -> str:
    """An opaque cursor (base64url, no padding) holding the last item's sort key."""
    raw = json.dumps({"l": listing, "s": scope, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, listing: str, scope: str) -> list[Any]:
    """The sort key inside ``cursor``; ``InvalidCursor`` unless this listing issued it for
    this scope (the key's values are checked by the listing itself)."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise InvalidCursor("after is not a cursor this listing issued") from error
    if (
        not isinstance(data, dict)
        or set(data) != {"l", "s", "k"}
        or data["l"] != listing
        or not isinstance(data["k"], list)
    ):
        raise InvalidCursor("after is not a cursor this listing issued")
    if data["s"] != scope:
        raise InvalidCursor(f"after is a cursor of another {listing} listing")
    return data["k"]


def next_url(request: Request, after: str, limit: int) -> str:
    """The next page's URL, relative to the API: this path with ``limit`` and ``after``."""
    return f"{request.url.path}?{urlencode({'limit': limit, 'after': after})}"


def page_response(body: dict[str, Any], next_page: str | None) -> JSONResponse:
    """``body`` with its ``next`` member, and the same URL in a ``Link: rel="next"`` header."""
    headers = {"Link": f'<{next_page}>; rel="next"'} if next_page is not None else None
    return JSONResponse({**body, "next": next_page}, headers=headers)
