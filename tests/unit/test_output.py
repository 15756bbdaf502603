"""How results look: human values, UTC times, display widths, JSON that streams in chunks."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backend.app.cli._output import JSON_CHUNK, Output, format_time, human, to_json, width


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param(None, "-", id="none"),
        pytest.param(True, "yes", id="true"),
        pytest.param(False, "no", id="false"),
        pytest.param([], "-", id="empty-list"),
        pytest.param(["b", "a"], "b, a", id="list-in-order"),
        pytest.param({}, "-", id="empty-mapping"),
        pytest.param({"k": None, "n": 2}, "k=-, n=2", id="mapping"),
        pytest.param(timedelta(days=1, hours=12), "1d12h", id="duration"),
        pytest.param(datetime(2027, 1, 31, 12, tzinfo=UTC), "2027-01-31T12:00:00Z", id="time"),
        pytest.param("tab\there", "tab\\there", id="control-characters-escaped"),
        pytest.param("Zoë", "Zoë", id="unicode-kept"),
    ],
)
def test_values_print_for_humans(value: object, shown: str) -> None:
    assert human(value) == shown


def test_times_print_in_utc_to_the_second_whatever_zone_they_come_in() -> None:
    paris = timezone(timedelta(hours=1))
    assert format_time(datetime(2027, 1, 31, 13, 0, 0, 999_999, tzinfo=paris)) == (
        "2027-01-31T12:00:00Z"
    )


@pytest.mark.parametrize(
    ("text", "columns"),
    [("abc", 3), ("山田", 4), ("Zoë", 3), ("e\u0301", 1), ("", 0)],
    ids=["ascii", "wide", "latin", "combining", "empty"],
)
def test_display_width_counts_terminal_columns(text: str, columns: int) -> None:
    assert width(text) == columns


def test_json_has_no_spaces_keeps_unicode_and_renders_times_and_durations() -> None:
    value = {"t": datetime(2027, 1, 1, tzinfo=UTC), "d": timedelta(minutes=90), "n": "Zoë"}
    assert to_json(value) == '{"t":"2027-01-01T00:00:00Z","d":"1h30m","n":"Zoë"}'


def rows(count: int) -> list[dict[str, int]]:
    return [{"id": i} for i in range(count)]


@pytest.mark.parametrize(
    "count", [0, 1, JSON_CHUNK - 1, JSON_CHUNK, JSON_CHUNK + 1, 3 * JSON_CHUNK]
)
def test_a_streamed_json_list_is_one_valid_array_whatever_its_length(count: int) -> None:
    out = io.StringIO()
    written = asyncio.run(Output(as_json=True, stdout=out).table(rows(count), [("id", "ID")]))
    assert written == count
    assert out.getvalue().endswith("]\n")
    assert json.loads(out.getvalue()) == rows(count)


def test_a_human_table_aligns_columns_and_says_when_it_is_empty() -> None:
    out = io.StringIO()
    data = [{"id": 1, "name": "山田"}, {"id": 22, "name": "Bob"}]
    asyncio.run(Output(as_json=False, stdout=out).table(data, [("id", "ID"), ("name", "NAME")]))
    assert out.getvalue().splitlines() == ["ID  NAME", "1   山田", "22  Bob"]
    empty = io.StringIO()
    asyncio.run(Output(as_json=False, stdout=empty).table([], [("id", "ID")], empty="(none)"))
    assert empty.getvalue() == "(none)\n"


def test_a_dry_run_marks_every_json_object_it_prints() -> None:
    out = io.StringIO()
    Output(as_json=True, dry_run=True, stdout=out).result({"status": "deleted"})
    assert json.loads(out.getvalue()) == {"status": "deleted", "dry_run": True}


def test_a_task_prints_at_most_one_json_value() -> None:
    output = Output(as_json=True, stdout=io.StringIO())
    output.result({"a": 1})
    with pytest.raises(RuntimeError, match="more than one JSON value"):
        output.result({"b": 2})


def test_the_banner_stays_on_stderr_in_json_mode_while_notes_do_not() -> None:
    err = io.StringIO()
    output = Output(as_json=True, stdout=io.StringIO(), stderr=err)
    output.banner("profile dev · database var/dev.sqlite")
    output.note("a human note")
    assert err.getvalue() == "profile dev · database var/dev.sqlite\n"
