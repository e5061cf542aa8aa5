"""Secrets out of text that leaves the process: store URLs' passwords and the rows PostgreSQL
quotes back in its errors.

Logs and problem details are read by more people, and kept longer, than the stores they talk
about. Two things in them can carry a secret: a store URL with a password in its userinfo
(``http://user:password@clickhouse:8123``), and PostgreSQL's error details, which quote the
values of the failing row (``Failing row contains (…, tok_…, …)`` for a NOT NULL or CHECK
violation, ``Key (…)=(…)`` for a unique or foreign key one) — a payment token included. Both are
replaced here, once, for every log line (``observability/logging.py``) and for the messages the
store adapters raise.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# scheme://user:password@host… — the password is everything between the first ':' of the
# userinfo and the last '@' before the host (a password may itself contain '@').
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]*:)[^\s/]*@")
# PostgreSQL's DETAIL lines that quote column values, to the end of their line.
_ROW_VALUES = re.compile(r"(?P<head>Failing row contains )\(.*")
_KEY_VALUES = re.compile(
    r"(?P<head>Key \([^)]*\)=)\(.*?\)(?P<tail> already exists| is not present)"
)
# SQLAlchemy's "[parameters: …]" (engines are built with hide_parameters=True; this is the
# second wall for any other engine).
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\n|$|\(Background))", re.DOTALL)


def redact_url(url: str) -> str:
    """``url`` with the password of its userinfo masked; any other URL unchanged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))


def redact_text(text: str) -> str:
    """``text`` with URL passwords and quoted row values masked."""
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\g<head>{MASK}@", text)
    if "Failing row contains" in text:
        text = _ROW_VALUES.sub(rf"\g<head>({MASK})", text)
    if "Key (" in text:
        text = _KEY_VALUES.sub(rf"\g<head>({MASK})\g<tail>", text)
    if "[parameters: " in text:
        text = _SQL_PARAMETERS.sub(f"[parameters: {MASK}]", text)
    return text
