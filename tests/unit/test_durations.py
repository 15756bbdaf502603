"""Durations (``90d``, ``1h30m``): exact values, exact refusals, the 100-year limit at its edge,
and the round trip between parsing and formatting. Instants and moments are in
``test_durations_instants.py``.

Pure. The mutation run of ``backend.app.core.durations`` executes this file (with
``test_durations_instants.py``) once per mutant.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.app.core.durations import MAX_DURATION, format_duration, parse_duration
from tests.unit.refusals import refusal

UNIT_RULE = "use a number and a unit (w, d, h, m, s), e.g. 90d, 24h, 1h30m"


# -- parse_duration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("1m", timedelta(minutes=1)),
        ("1h", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("0s", timedelta(0)),
        ("0w", timedelta(0)),
        ("90d", timedelta(days=90)),
        ("24h", timedelta(hours=24)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("1d1d", timedelta(days=2)),
        ("30m1h", timedelta(minutes=90)),
        (" 2H30M\n", timedelta(hours=2, minutes=30)),
        ("007d", timedelta(days=7)),
        ("999999999s", timedelta(seconds=999_999_999)),
        ("36500d", timedelta(days=36_500)),
        ("5214w2d", timedelta(days=36_500)),
        ("36499d23h59m60s", timedelta(days=36_500)),
    ],
    ids=[
        "seconds",
        "minutes",
        "hours",
        "days",
        "weeks",
        "zero-seconds",
        "zero-weeks",
        "90-days",
        "24-hours",
        "2-weeks",
        "hours-and-minutes",
        "every-unit",
        "a-unit-twice-adds-up",
        "units-in-any-order",
        "trimmed-and-upper-case",
        "leading-zeros",
        "nine-digits",
        "exactly-100-years",
        "exactly-100-years-in-weeks-and-days",
        "exactly-100-years-in-parts",
    ],
)
def test_a_duration_is_numbers_with_units_added_up(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", " ", "90", "d", "1.5h", "1 h", "-1d", "+1d", "1y", "1ms", "1dd", "h1", "1d 2h", "1,5d"],
    ids=[
        "empty",
        "blank",
        "no-unit",
        "no-number",
        "decimal",
        "space-before-the-unit",
        "negative",
        "plus-sign",
        "years",
        "milliseconds",
        "unit-twice",
        "unit-first",
        "space-between-parts",
        "decimal-comma",
    ],
)
def test_anything_else_is_refused_with_the_format_and_an_example(text: str) -> None:
    error = refusal(parse_duration, text, field="expires_in")
    assert error.message == f"invalid {{field}} {text!r}: {UNIT_RULE}"
    assert (error.field, error.exit_code) == ("expires_in", 2)
    assert error.render(lambda name: "--" + name.replace("_", "-")) == (
        f"invalid --expires-in {text!r}: {UNIT_RULE}"
    )


def test_a_number_of_ten_digits_is_refused_as_malformed() -> None:
    assert refusal(parse_duration, "1000000000s").message == (
        f"invalid {{field}} '1000000000s': {UNIT_RULE}"
    )


def test_the_field_is_called_duration_unless_named() -> None:
    assert refusal(parse_duration, "soon").field == "duration"
    assert str(refusal(parse_duration, "soon")) == f"invalid duration 'soon': {UNIT_RULE}"


@pytest.mark.parametrize(
    "text",
    ["36500d1s", "36501d", "5215w", "876001h", "999999999w", "999999999d999999999w"],
    ids=[
        "one-second-over-100-years",
        "one-day-over",
        "weeks-over",
        "hours-over",
        "too-big-for-a-timedelta",
        "far-too-big-for-a-timedelta",
    ],
)
def test_a_duration_over_100_years_is_refused(text: str) -> None:
    error = refusal(parse_duration, text, field="grace")
    assert error.message == f"invalid {{field}} {text!r}: longer than 100 years"
    assert str(error) == f"invalid grace {text!r}: longer than 100 years"


def test_the_limit_is_100_years_of_365_days() -> None:
    assert timedelta(days=36_500) == MAX_DURATION


# -- format_duration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=1), "1s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(minutes=1), "1m"),
        (timedelta(hours=1), "1h"),
        (timedelta(days=1), "1d"),
        (timedelta(days=1, hours=12), "1d12h"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(seconds=3661), "1h1m1s"),
        (timedelta(days=7), "7d"),
        (timedelta(days=8), "8d"),
        (timedelta(days=90), "90d"),
        (timedelta(days=36_500), "36500d"),
        (timedelta(days=2, seconds=5), "2d5s"),
        (timedelta(seconds=1, milliseconds=999), "1s"),
        (timedelta(milliseconds=999), "0s"),
    ],
    ids=[
        "zero",
        "one-second",
        "seconds",
        "one-minute",
        "one-hour",
        "one-day",
        "day-and-a-half",
        "hour-and-a-half",
        "every-unit-but-days",
        "a-week-in-days",
        "more-than-a-week",
        "90-days",
        "100-years",
        "zero-parts-left-out",
        "fractions-dropped",
        "under-a-second",
    ],
)
def test_a_duration_is_formatted_in_days_hours_minutes_seconds(
    duration: timedelta, text: str
) -> None:
    assert format_duration(duration) == text


@pytest.mark.parametrize(
    "seconds",
    [0, 1, 59, 60, 61, 3_599, 3_600, 86_399, 86_400, 90_061, 604_800, 3_153_600_000],
    ids=lambda seconds: f"{seconds}s",
)
def test_formatting_then_parsing_gives_the_same_duration(seconds: int) -> None:
    duration = timedelta(seconds=seconds)
    assert parse_duration(format_duration(duration)) == duration
