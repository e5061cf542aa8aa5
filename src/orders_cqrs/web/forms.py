"""What the console's forms send, read and checked: sign-in, search filters and sort, notes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time
from urllib.parse import parse_qs, urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request

from orders_cqrs.api.envelope import KEY_PATTERN
from orders_cqrs.failures.refusals import InvalidSearch
from orders_cqrs.readmodels.search.reader import SORTS, SearchRequest, filter_values

NOTE_MAX_CHARS = 2000
QUERY_MAX_CHARS = 200
PAGE_SIZE = 20
_KEY = re.compile(KEY_PATTERN)
_PARAMS = {"date_from": "from", "date_to": "to"}  # the API's names of the date bounds
# The search API's sorts, as the page names them (the first is the default).
SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "total_desc": "Largest total",
    "total_asc": "Smallest total",
    "updated": "Recently updated",
}
_CURSORS = ("after", "before")


class FormError(ValueError):
    """Input a person can correct; the message is shown next to the form."""


async def form_fields(request: Request) -> dict[str, str]:
    """The posted fields: an HTML form (urlencoded) or the same fields as a JSON object.

    The console's script posts JSON because the API's body guard admits only JSON bodies.
    """
    raw = await request.body()
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): v for k, v in data.items() if isinstance(v, str)}
    try:
        parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=20)
    except ValueError:  # more fields than any console form has
        return {}
    return {name: values[0] for name, values in parsed.items()}


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page of this site, never another host."""
    if target and target.startswith("/support") and not target.startswith(("//", "/\\")):
        return target
    return "/support"


def note_body(raw: str | None) -> str:
    """The note as it will be stored: line endings normalised, surrounding blanks trimmed."""
    text = (raw or "").replace("\r\n", "\n").strip()
    if not text:
        raise FormError("Write something first: the note is empty.")
    if len(text) > NOTE_MAX_CHARS:
        raise FormError(f"Notes are at most {NOTE_MAX_CHARS} characters; this one has {len(text)}.")
    return text


def idempotency_key(raw: str | None) -> str:
    """The key the form was rendered with."""
    if raw is None or not _KEY.match(raw):
        raise FormError("The form expired. Write the note again and save it once more.")
    return raw


def min_version(params: QueryParams) -> int | None:
    """``?min_version=N``, when it names a version."""
    raw = params.get("min_version")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
        raise FormError("min_version must be a positive whole number.")
    return int(raw)


def _moment(raw: str, label: str, *, end: bool) -> datetime | None:
    """A date (the whole day: from its start, to its end) or a full timestamp; UTC if naive."""
    if not raw:
        return None
    try:
        if "T" in raw:
            moment = datetime.fromisoformat(raw)
        else:
            moment = datetime.combine(date.fromisoformat(raw), time.max if end else time.min)
    except ValueError as error:
        raise FormError(f"{label} must be a date such as 2025-06-01.") from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SearchForm:
    """The search page's fields, as typed (so the form can show them again)."""

    q: str = ""
    status: str = ""
    payment_state: str = ""
    provider: str = ""
    region: str = ""
    risk: str = ""
    date_from: str = ""
    date_to: str = ""
    country: str = ""
    sort: str = ""
    after: str = ""
    before: str = ""

    @classmethod
    def from_query(cls, params: QueryParams) -> SearchForm:
        """Read the query string (``from``/``to`` as the API names them)."""
        values = {
            f.name: params.get(_PARAMS.get(f.name, f.name), "").strip()[:500] for f in fields(cls)
        }
        return cls(**values)

    def request(self) -> SearchRequest:
        """The same search the API route would run for these parameters."""
        if len(self.q) > QUERY_MAX_CHARS:
            raise FormError(f"Search text is at most {QUERY_MAX_CHARS} characters.")
        try:
            filters = {
                "status": filter_values([self.status]),
                "payment_state": filter_values([self.payment_state]),
                "risk_flags": filter_values([self.risk]),
                "region": filter_values([self.region]),
                "provider": filter_values([self.provider]),
                "country": filter_values([self.country.upper()]),
            }
        except InvalidSearch as error:
            raise FormError(error.detail) from error
        if self.sort and self.sort not in SORTS:
            raise FormError(f"Sort by one of: {', '.join(SORT_LABELS.values())}.")
        if self.after and self.before:
            raise FormError("A page link names one cursor, after or before, never both.")
        placed_from = _moment(self.date_from, "From", end=False)
        placed_to = _moment(self.date_to, "To", end=True)
        if placed_from and placed_to and placed_from > placed_to:
            raise FormError("From must not be after To.")
        return SearchRequest(
            q=self.q or None,
            filters=filters,
            placed_from=placed_from,
            placed_to=placed_to,
            sort=self.sort or "newest",
            size=PAGE_SIZE,
            after=self.after or None,
            before=self.before or None,
        )

    def query(self, *, after: str = "", before: str = "") -> str:
        """The query string of this search: on its first page, or the page after ``after`` /
        before ``before`` when given."""
        pairs = [
            (_PARAMS.get(f.name, f.name), getattr(self, f.name))
            for f in fields(self)
            if f.name not in _CURSORS and getattr(self, f.name)
        ]
        if after:
            pairs.append(("after", after))
        elif before:
            pairs.append(("before", before))
        return urlencode(pairs)

    @property
    def paged(self) -> bool:
        """True on any page but the first (reached by a cursor)."""
        return bool(self.after or self.before)

    @property
    def filtered(self) -> bool:
        """True when any filter (not the text) narrows the search."""
        narrowing = (
            self.status,
            self.payment_state,
            self.provider,
            self.region,
            self.risk,
            self.country,
        )
        return any((*narrowing, self.date_from, self.date_to))
