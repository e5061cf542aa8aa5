"""Signing a person in: throttle, check the password, then say who it is (or why not).

The order matters: the attempt is counted before the password is checked (a throttled
attempt never reaches the hasher, so a guesser gets ``limit`` tries per window however fast
they send), and the hasher runs in a thread, with no transaction open, so one slow sign-in
never holds a lock or the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from orders_cqrs.db.login_throttle import LoginThrottle
from orders_cqrs.db.staff_accounts import StaffAccount, StaffAccounts
from orders_cqrs.observability import metrics
from orders_cqrs.staff.accounts import normalize_email
from orders_cqrs.staff.passwords import Passwords
from orders_cqrs.staff.throttle import ThrottleRule, account_bucket, address_bucket, strictest

NO_MATCH = "That email and password do not match an account."


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The password was right and the account may open this console."""

    account: StaffAccount


@dataclass(frozen=True, slots=True)
class Refused:
    """No session: the message for the person and the page's status code."""

    message: str
    status_code: int


@dataclass(frozen=True, slots=True)
class Throttled:
    """Too many attempts for this account or address: try again after so many seconds."""

    retry_after_seconds: int


Outcome = SignedIn | Refused | Throttled


@dataclass(frozen=True, slots=True)
class ThrottleRules:
    """How many attempts an account and an address get per window."""

    per_account: ThrottleRule
    per_address: ThrottleRule

    @classmethod
    def of(cls, per_account: int, per_address: int, window_seconds: float) -> ThrottleRules:
        """Both rules over the same window."""
        window = timedelta(seconds=window_seconds)
        return cls(ThrottleRule(per_account, window), ThrottleRule(per_address, window))


class StaffSignIn:
    """Decide one sign-in attempt."""

    def __init__(
        self,
        accounts: StaffAccounts,
        throttle: LoginThrottle,
        passwords: Passwords,
        rules: ThrottleRules,
    ) -> None:
        self._accounts = accounts
        self._throttle = throttle
        self._passwords = passwords
        self._rules = rules

    async def attempt(self, email: str, password: str, *, address: str, role: str) -> Outcome:
        """Sign ``email`` in to the console of ``role`` from ``address``."""
        outcome = await self._attempt(normalize_email(email), password, address, role)
        metrics.CONSOLE_SIGN_INS.labels(role, _outcome_label(outcome)).inc()
        return outcome

    async def _attempt(self, email: str, password: str, address: str, role: str) -> Outcome:
        if not email or not password:
            return Refused("Enter your email and password.", 422)
        buckets = (account_bucket(email), address_bucket(address))
        per_account, per_address = await self._throttle.count(buckets)
        verdict = strictest(
            (
                self._rules.per_account.verdict(
                    per_account.attempts, per_account.window_started_at, per_account.now
                ),
                self._rules.per_address.verdict(
                    per_address.attempts, per_address.window_started_at, per_address.now
                ),
            )
        )
        if not verdict.allowed:
            return Throttled(verdict.retry_after_seconds)
        account = await self._accounts.by_email(email)
        stored = None if account is None else account.password_hash
        if not await asyncio.to_thread(self._passwords.verify, stored, password):
            return Refused(NO_MATCH, 401)
        assert account is not None  # the decoy never verifies
        if account.disabled_at is not None:
            return Refused("This account is disabled. Ask an administrator to enable it.", 403)
        await self._throttle.succeeded(*buckets)
        if account.role != role:
            return Refused(f"This account signs in at /{account.role}, not here.", 403)
        if self._passwords.needs_rehash(account.password_hash):
            fresh = await asyncio.to_thread(self._passwords.hash, password)
            await self._accounts.rehash(account.id, account.password_hash, fresh)
        return SignedIn(account)


def _outcome_label(outcome: Outcome) -> str:
    if isinstance(outcome, SignedIn):
        return "signed_in"
    if isinstance(outcome, Throttled):
        return "throttled"
    return "refused"
