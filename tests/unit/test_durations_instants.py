"""Instants (ISO 8601, read as UTC when no zone is named) and moments (a duration ago, or an
instant): exact values and exact refusals, whatever the machine's time zone.

Pure. Part of the mutation run of ``backend.app.core.durations`` (see ``test_durations.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backend.app.core.durations import parse_instant, parse_moment
from tests.unit.refusals import refusal

NOW = datetime(2027, 6, 15, 12, 0, 0, tzinfo=UTC)
ISO_RULE = "use ISO 8601, e.g. 2027-01-31 or 2027-01-31T12:00:00Z"


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's zone set well away from UTC, so a naive time read as local would show."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# -- parse_instant --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-31", datetime(2027, 1, 31, tzinfo=UTC)),
        (" 2027-01-31T12:00:00 ", datetime(2027, 1, 31, 12, tzinfo=UTC)),
        ("2027-01-31T12:00:00Z", datetime(2027, 1, 31, 12, tzinfo=UTC)),
        ("2027-01-31T12:00:00+02:00", datetime(2027, 1, 31, 10, tzinfo=UTC)),
        ("2027-01-31T23:30:00-05:00", datetime(2027, 2, 1, 4, 30, tzinfo=UTC)),
        ("2027-01-31 12:00:00.250", datetime(2027, 1, 31, 12, 0, 0, 250_000, tzinfo=UTC)),
        ("0001-01-01T00:00:00", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
    ids=[
        "date",
        "naive-time-trimmed",
        "zulu",
        "ahead-of-utc",
        "behind-utc-next-day",
        "space-and-fraction",
        "first-instant",
        "last-instant",
    ],
)
def test_an_instant_is_read_as_utc_when_it_names_no_zone(
    far_from_utc: None, text: str, expected: datetime
) -> None:
    moment = parse_instant(text, field="until")
    assert moment == expected
    assert moment.tzinfo is UTC


def test_an_instant_with_a_zone_is_converted_to_utc_not_relabelled() -> None:
    moment = parse_instant("2027-01-31T12:00:00+02:00", field="until")
    assert moment.utcoffset() == timedelta(0)
    assert moment.replace(tzinfo=timezone(timedelta(hours=2))) != moment
    assert moment.hour == 10


@pytest.mark.parametrize(
    "text",
    ["", "tomorrow", "2027-13-01", "2027-02-30", "31/01/2027", "2027-01-31T25:00", "7d"],
    ids=["empty", "word", "month-13", "february-30", "day-first", "hour-25", "a-duration"],
)
def test_a_malformed_instant_is_refused_with_an_example(text: str) -> None:
    error = refusal(parse_instant, text, field="until")
    assert error.message == f"invalid {{field}} {text!r}: {ISO_RULE}"
    assert str(error) == f"invalid until {text!r}: {ISO_RULE}"


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"],
    ids=["before-the-first-instant", "after-the-last-instant"],
)
def test_an_instant_outside_what_a_datetime_holds_in_utc_is_refused(text: str) -> None:
    error = refusal(parse_instant, text, field="until")
    assert error.message == f"invalid {{field}} {text!r}: out of range"
    assert error.field == "until"


# -- parse_moment ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        (" 1H30M ", NOW - timedelta(minutes=90)),
        ("0s", NOW),
        ("2027-01-31", datetime(2027, 1, 31, tzinfo=UTC)),
        ("2027-01-31T12:00:00+01:00", datetime(2027, 1, 31, 11, tzinfo=UTC)),
    ],
    ids=["a-duration-ago", "trimmed-upper-case-duration", "now", "a-date", "an-instant"],
)
def test_a_moment_is_a_duration_ago_or_an_instant(text: str, expected: datetime) -> None:
    assert parse_moment(text, field="since", now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", ISO_RULE),
        ("  ", ISO_RULE),
        ("7 days", ISO_RULE),
        ("36501d", "longer than 100 years"),
    ],
    ids=["empty", "blank", "words", "a-duration-over-100-years"],
)
def test_a_moment_that_is_neither_is_refused_naming_the_field(text: str, reason: str) -> None:
    error = refusal(parse_moment, text, field="since", now=NOW)
    assert error.message == f"invalid {{field}} {text!r}: {reason}"
    assert error.field == "since"
