"""Sign-in throttling rules: a bucket's attempts within the limit go on, the next ones wait
until the window that the first attempt started has ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orders_cqrs.staff.accounts import InvalidAccount, valid_email, valid_name, valid_role
from orders_cqrs.staff.throttle import (
    ALLOWED,
    ThrottleRule,
    Verdict,
    account_bucket,
    address_bucket,
    strictest,
)

START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
FIVE_PER_15_MIN = ThrottleRule(limit=5, window=timedelta(minutes=15))


def test_five_attempts_go_on_and_the_sixth_waits_for_the_window_to_end() -> None:
    for attempt in range(1, 6):
        later = START + timedelta(seconds=attempt)
        assert FIVE_PER_15_MIN.verdict(attempt, START, later) == ALLOWED
    sixth = FIVE_PER_15_MIN.verdict(6, START, START + timedelta(minutes=1))
    assert sixth == Verdict(allowed=False, retry_after_seconds=14 * 60)


def test_retry_after_rounds_up_and_is_never_zero() -> None:
    almost_over = START + timedelta(minutes=15) - timedelta(milliseconds=300)
    assert FIVE_PER_15_MIN.verdict(9, START, almost_over).retry_after_seconds == 1
    past_end = START + timedelta(minutes=16)  # the store starts a new window; never below 1 s
    assert FIVE_PER_15_MIN.verdict(9, START, past_end).retry_after_seconds == 1
    mid = START + timedelta(minutes=7, seconds=30, milliseconds=1)
    assert FIVE_PER_15_MIN.verdict(6, START, mid).retry_after_seconds == 450


def test_the_strictest_bucket_decides_for_its_longest_wait() -> None:
    assert strictest([ALLOWED, ALLOWED]) == ALLOWED
    assert strictest([]) == ALLOWED
    short, long = Verdict(False, 30), Verdict(False, 600)
    assert strictest([ALLOWED, short]) == short
    assert strictest([short, ALLOWED, long]) == long


def test_an_accounts_bucket_ignores_case_and_holds_no_email() -> None:
    bucket = account_bucket("Grace.Hopper@Example.com ")
    assert bucket == account_bucket("grace.hopper@example.com")
    assert "grace" not in bucket and len(bucket) <= 100
    assert account_bucket("ada@example.com") != bucket
    assert address_bucket("203.0.113.7") == "address:203.0.113.7"


def test_account_fields_are_normalized_or_refused() -> None:
    assert valid_email("  Grace@Example.COM ") == "grace@example.com"
    assert valid_name("  Grace   Hopper ") == "Grace Hopper"
    assert valid_role("ops") == "ops"
    for bad in ("grace", "grace@", "@example.com", "a b@example.com", "x@y"):
        with pytest.raises(InvalidAccount):
            valid_email(bad)
    with pytest.raises(InvalidAccount):
        valid_name("   ")
    for role in ("checkout", "admin", "Support"):
        with pytest.raises(InvalidAccount):
            valid_role(role)
