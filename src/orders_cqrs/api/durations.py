"""Durations as people write them in a query string: ``90``, ``90s``, ``15m``, ``2h``, ``1d``,
or ISO 8601 (``PT15M``, ``P1DT12H``).

The pattern is the whole rule, and the OpenAPI document carries it: a value it allows is
accepted, one it forbids is a 422. Digit counts are bounded so every value is a finite
number of seconds and none is an overflow someone could send.
"""

from __future__ import annotations

import re

_ISO_TIME = r"T(?:\d{1,6}H(?:\d{1,7}M)?(?:\d{1,9}S)?|\d{1,7}M(?:\d{1,9}S)?|\d{1,9}S)"
_WITH_UNIT = r"\d{1,9}s?|\d{1,7}m|\d{1,6}h|\d{1,4}d"
_ISO = rf"P(?:\d{{1,4}}D(?:{_ISO_TIME})?|{_ISO_TIME})"
DURATION_PATTERN = rf"^(?:{_WITH_UNIT}|{_ISO})$"
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_PART = re.compile(r"(\d+)([DHMS])")


def duration_seconds(text: str) -> int:
    """Seconds in a duration that matches ``DURATION_PATTERN`` (the caller validated it)."""
    if text.startswith("P"):
        date, _, time = text[1:].partition("T")
        seconds = sum(int(n) * 86_400 for n, _ in _PART.findall(date))
        iso_units = {"H": 3600, "M": 60, "S": 1}
        return seconds + sum(int(n) * iso_units[unit] for n, unit in _PART.findall(time))
    if text[-1] in _UNIT_SECONDS:
        return int(text[:-1]) * _UNIT_SECONDS[text[-1]]
    return int(text)
