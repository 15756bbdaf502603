"""Human durations (``90d``, ``24h``, ``1h30m``) and instants (ISO 8601), for flags and settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from backend.app.errors import InvalidInput, quote

_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"(\d{1,9})([wdhms])")
_WHOLE = re.compile(r"(?:\d{1,9}[wdhms])+")
# Far enough for any expiry, near enough that adding it to "now" can never overflow a datetime.
MAX_DURATION = timedelta(days=36_500)


def parse_duration(text: str, *, field: str = "duration") -> timedelta:
    """Parse ``90d``, ``24h``, ``2w``, ``1h30m`` or ``45s`` (``0s`` included) into a timedelta.

    Raises InvalidInput for anything else, including values over 100 years.
    """
    value = text.strip().lower()
    if not _WHOLE.fullmatch(value):
        raise InvalidInput(
            f"invalid {{field}} {quote(text)}: use a number and a unit (w, d, h, m, s), "
            "e.g. 90d, 24h, 1h30m",
            field=field,
        )
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(value))
    # Compare before building the timedelta: 999999999w is past what a timedelta can hold.
    if seconds > MAX_DURATION.total_seconds():
        raise InvalidInput(f"invalid {{field}} {quote(text)}: longer than 100 years", field=field)
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


def parse_instant(text: str, *, field: str) -> datetime:
    """An ISO 8601 date or time, read as UTC when it names no zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"invalid {{field}} {quote(text)}: use ISO 8601, e.g. 2027-01-31 or "
            "2027-01-31T12:00:00Z",
            field=field,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+23:59 is before the first instant a datetime holds
        raise InvalidInput(f"invalid {{field}} {quote(text)}: out of range", field=field) from None


def parse_moment(text: str, *, field: str, now: datetime) -> datetime:
    """A point in the past given either way: a duration ago (``7d``) or an ISO 8601 instant."""
    stripped = text.strip().lower()
    if stripped and _WHOLE.fullmatch(stripped):
        return now - parse_duration(stripped, field=field)
    return parse_instant(text, field=field)
