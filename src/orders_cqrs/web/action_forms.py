"""What the order page's refund and cancel forms send, read and checked.

People type money as they read it (``12.50``); the command takes integer minor units. The
conversion is exact (digits, never floats) and refuses more decimals than the currency has.
"""

from __future__ import annotations

import re

from orders_cqrs.web.forms import FormError, idempotency_key
from orders_cqrs.web.render import ZERO_DECIMAL

REASON_MAX_CHARS = 500  # the API's Text500 for refund and cancel reasons
DEFAULT_CANCEL_REASON = "customer_request"  # what the API records when no reason is given
_AMOUNT = re.compile(r"^(\d{1,12})(?:[.,](\d*))?$")
_MAX_MINOR = 10**12


def minor_digits(currency: str) -> int:
    """How many decimals the currency has (ISO 4217): none for JPY and kin, two otherwise."""
    return 0 if currency in ZERO_DECIMAL else 2


def parse_amount(raw: str | None, currency: str) -> int:
    """``12.50`` (or ``12,50``, or ``12``) in ``currency`` → 1250 minor units."""
    text = (raw or "").strip().replace(" ", "")
    if not text:
        raise FormError("Enter the amount to refund.")
    match = _AMOUNT.match(text)
    digits = minor_digits(currency)
    if match is None:
        example = "1250" if not digits else "12.50"
        raise FormError(f"The amount must be a number such as {example} ({currency}).")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > digits:
        places = f"{digits} decimal{'s' if digits != 1 else ''}" if digits else "no decimals"
        raise FormError(f"{currency} amounts have {places}.")
    amount = int(whole + fraction.ljust(digits, "0"))  # digits only: exact, never a float
    if amount <= 0:
        raise FormError("The amount must be more than zero.")
    if amount >= _MAX_MINOR:
        raise FormError("That amount is far larger than any order.")
    return amount


def minor_field(raw: str | None) -> int:
    """The confirmation form's amount, already in minor units (it was rendered by us)."""
    if raw is None or not raw.isdigit() or not 0 < int(raw) < _MAX_MINOR:
        raise FormError("The confirmation form is damaged. Review the refund again.")
    return int(raw)


def reason_text(raw: str | None, *, required: bool, default: str = "") -> str:
    """A refund's or cancel's reason, trimmed, at most ``REASON_MAX_CHARS``."""
    text = " ".join((raw or "").split())
    if not text:
        if required:
            raise FormError("Say why: the reason is kept with the order and shown to support.")
        return default
    if len(text) > REASON_MAX_CHARS:
        raise FormError(f"Reasons are at most {REASON_MAX_CHARS} characters; this has {len(text)}.")
    return text


def page_version(raw: str | None) -> int:
    """The order version the page was rendered at (sent back as ``If-Match``)."""
    if raw is None or not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
        raise FormError("The form does not say which version of the order it showed. Reload it.")
    return int(raw)


def confirmation_key(raw: str | None) -> str:
    """The Idempotency-Key the confirmation form was rendered with."""
    try:
        return idempotency_key(raw)
    except FormError as error:
        raise FormError("The confirmation form expired. Review the change again.") from error
