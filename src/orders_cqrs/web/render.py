"""The consoles' one Jinja environment, the filters and static assets its templates use, and
the headers every page carries (support console and ops page alike)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

# ISO 4217 minor units of the accepted currencies that have none; every other one has two.
ZERO_DECIMAL = frozenset({"CLP", "ISK", "JPY", "KRW", "VND"})
_MARK = re.compile(r"(</?mark>)")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show customers' personal data
}


def money(value: Mapping[str, Any] | None, currency: str | None = None) -> str:
    """``{"amount": 123456, "currency": "EUR"}`` → ``1,234.56 EUR`` (integers only, no floats)."""
    if value is None:
        return "—"
    amount, code = int(value["amount"]), str(value.get("currency") or currency or "")
    return minor(amount, code)


def minor(amount: int | None, currency: str) -> str:
    """An amount in minor units of ``currency`` as text."""
    if amount is None:
        return "—"
    digits = 0 if currency in ZERO_DECIMAL else 2
    whole, fraction = divmod(abs(amount), 10**digits)
    text = f"{whole:,}" + (f".{fraction:0{digits}d}" if digits else "")
    return f"{'-' if amount < 0 else ''}{text} {currency}".strip()


def amount_field(amount: int, currency: str) -> str:
    """Minor units as a form's amount field shows them: ``1250`` EUR → ``12.50`` (no grouping,
    no currency), so that what the field shows parses back to the same amount."""
    digits = 0 if currency in ZERO_DECIMAL else 2
    if not digits:
        return str(amount)
    whole, fraction = divmod(amount, 10**digits)
    return f"{whole}.{fraction:0{digits}d}"


def when(value: str | None) -> str:
    """An ISO timestamp as ``2025-06-01 14:03 UTC``."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(seconds: float | None) -> str:
    """An age as people say it: ``0.4 s``, ``12 s``, ``3 min``, ``2 h``."""
    if seconds is None:
        return "unknown"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def age(seconds: float | None) -> str:
    """An age on the ops page, up to days: ``12 s``, ``3 min``, ``2.5 h``, ``1.5 d``."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} d"


def highlight(fragment: str) -> Markup:
    """A search highlight with its ``<mark>`` tags kept (balanced) and everything else escaped."""
    out: list[str] = []
    marked = False
    for part in _MARK.split(fragment):
        if part in ("<mark>", "</mark>"):
            opening = part == "<mark>"
            if opening != marked:
                out.append(part)
                marked = opening
        else:
            out.append(str(escape(part)))
    if marked:
        out.append("</mark>")
    return Markup("".join(out))  # noqa: S704 - every piece but the mark tags is escaped above


def _marked_chars(fragment: str) -> int:
    return sum(len(part) for part in re.findall(r"<mark>(.*?)</mark>", fragment))


def search_row(hit: Mapping[str, Any]) -> dict[str, Any]:
    """A search hit for the result list: the name and email carry their own highlights, and
    the other highlighted fields (order id, SKU names, notes, tracking) come as snippets."""
    highlights: dict[str, list[str]] = hit.get("highlights") or {}
    shown: dict[str, Markup] = {}
    for field in ("name", "email"):
        value = hit["customer"][field]
        whole = [f for f in highlights.get(f"customer_{field}", []) if _MARK.sub("", f) == value]
        best = max(whole, key=_marked_chars, default=None)
        shown[field] = highlight(best) if best is not None else escape(value)
    snippets: list[tuple[str, list[Markup]]] = []
    for field, fragments in sorted(highlights.items()):
        if field in ("customer_name", "customer_email"):
            continue
        unique: dict[str, str] = {}
        for fragment in fragments:  # a field and its .prefix sub-field often say the same
            unique.setdefault(_MARK.sub("", fragment), fragment)
        marked = [highlight(fragment) for fragment in list(unique.values())[:2]]
        snippets.append((field.replace("_", " "), marked))
    return {**hit, "name_html": shown["name"], "email_html": shown["email"], "snippets": snippets}


def short_id(value: str) -> str:
    """The first block of a UUID, which is what people read out on the phone."""
    return value.split("-", 1)[0]


def _fingerprinted(name: str) -> str:
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


# Digests are taken once, at import: the files ship with the package and do not change.
ASSETS = {path.name: _fingerprinted(path.name) for path in STATIC_DIR.iterdir() if path.is_file()}


def asset(name: str) -> str:
    """The URL of a static file, carrying a digest of its content so that browsers fetch a
    changed file again instead of a cached copy."""
    return ASSETS[name]


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, minor=minor, when=when, ago=ago, age=age, short_id=short_id)
    env.filters["amount_field"] = amount_field
    env.globals["asset"] = asset
    return env


templates = Jinja2Templates(env=_environment())


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A rendered template with the console's headers."""
    values = {"agent": None, **(context or {})}
    response = templates.TemplateResponse(
        request, name, values, status_code=status_code, headers=headers
    )
    return secured(response)


def secured(response: Response) -> Response:
    """Add the console's security headers to any response."""
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def error_page(
    request: Request, status_code: int, title: str, detail: str, **context: Any
) -> Response:
    """The console's error page."""
    values = {"title": title, "detail": detail, "status": status_code, **context}
    return page(request, "error.html", values, status_code=status_code)
