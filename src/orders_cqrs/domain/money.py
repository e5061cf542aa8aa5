"""Money rules: which ISO 4217 currencies are accepted, and how large an amount may be.

Amounts are integer minor units (cents) everywhere, never floats.
"""

from __future__ import annotations

# Active ISO 4217 codes a checkout is likely to see; extend here, not in handlers.
_CODES = """
AED AUD BGN BRL CAD CHF CLP CNY COP CZK DKK EGP EUR GBP HKD HUF IDR ILS INR ISK JPY KES KRW
MAD MXN MYR NGN NOK NZD PEN PHP PKR PLN QAR RON RSD SAR SEK SGD THB TRY TWD UAH USD VND ZAR
"""
CURRENCIES = frozenset(_CODES.split())

MAX_AMOUNT = 10**12  # a trillion minor units: far above any checkout, far below int64


def is_currency(code: str) -> bool:
    """True when ``code`` is a currency this service accepts."""
    return code in CURRENCIES
