"""Human durations (``90d``, ``24h``, ``1h30m``) for flags and settings."""

from __future__ import annotations

import re
from datetime import timedelta

from backend.app.errors import InvalidInput, quote

_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"(\d{1,9})([wdhms])")
_WHOLE = re.compile(r"(?:\d{1,9}[wdhms])+")
# Far enough for any expiry, near enough that adding it to "now" can never overflow a datetime.
MAX_DURATION = timedelta(days=36_500)


def parse_duration(text: str, *, what: str = "duration") -> timedelta:
    """Parse ``90d``, ``24h``, ``2w``, ``1h30m`` or ``45s`` into a timedelta.

    Raises InvalidInput for anything else, including values over 100 years.
    """
    value = text.strip().lower()
    if not _WHOLE.fullmatch(value):
        raise InvalidInput(
            f"invalid {what} {quote(text)}: use a number and a unit (w, d, h, m, s), "
            "e.g. 90d, 24h, 1h30m"
        )
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(value))
    # Compare before building the timedelta: 999999999w is past what a timedelta can hold.
    if seconds > MAX_DURATION.total_seconds():
        raise InvalidInput(f"invalid {what} {quote(text)}: longer than 100 years")
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """Render a timedelta the way ``parse_duration`` reads it (``1d12h``)."""
    seconds = int(duration.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        if unit == "w":
            continue
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
