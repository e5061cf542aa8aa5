"""Sign-in throttling rules: so many attempts per bucket in a fixed window, then 429.

Pure arithmetic; the counts live in PostgreSQL (``db/login_throttle.py``). A bucket is an
account (by its email, known or not: an unknown email is throttled like a known one, so the
answer says nothing about which exist) or a client address. Every attempt is counted before
its password is checked, so concurrent guesses cannot slip past the limit; a successful
sign-in forgets the account's count and gives its address back the attempt.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Verdict:
    """May the attempt go on; if not, in how many seconds the window ends."""

    allowed: bool
    retry_after_seconds: int = 0


ALLOWED = Verdict(allowed=True)


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """At most ``limit`` attempts per ``window`` (fixed: it starts at the first attempt)."""

    limit: int
    window: timedelta

    def verdict(self, attempts: int, window_started_at: datetime, now: datetime) -> Verdict:
        """The verdict on the ``attempts``-th attempt of a window that started then."""
        if attempts <= self.limit:
            return ALLOWED
        remaining = (window_started_at + self.window - now).total_seconds()
        return Verdict(allowed=False, retry_after_seconds=max(1, math.ceil(remaining)))


def strictest(verdicts: Iterable[Verdict]) -> Verdict:
    """Refused if any bucket refuses, for as long as the longest refusal."""
    refused = [verdict for verdict in verdicts if not verdict.allowed]
    if not refused:
        return ALLOWED
    return max(refused, key=lambda verdict: verdict.retry_after_seconds)


def account_bucket(email: str) -> str:
    """The bucket of an account's attempts (a digest: the table holds no typed emails)."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]
    return f"account:{digest}"


def address_bucket(address: str) -> str:
    """The bucket of a client address's attempts."""
    return f"address:{address[:64]}"
