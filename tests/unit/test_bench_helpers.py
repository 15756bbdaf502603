"""The benchmark's own helpers: alternation, PostgreSQL URLs, the bulk data's shape, the writer."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bench import bulk_data, pg, writer
from bench.measure import in_turns


def test_in_turns_runs_every_side_once_a_round_and_rotates_who_goes_first() -> None:
    calls: list[str] = []

    def side(name: str) -> Callable[[], str]:
        def once() -> str:
            calls.append(name)
            return name

        return once

    results = in_turns([side("a"), side("b"), side("c")], reps=4, warmup=1)
    assert results == [["a"] * 4, ["b"] * 4, ["c"] * 4]
    rounds = [calls[i : i + 3] for i in range(3, len(calls), 3)]  # after the warm-up
    assert [r[0] for r in rounds] == ["a", "b", "c", "a"]  # each in turn goes first
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://postgres@127.0.0.1:5432/bx"),
        ("postgresql+asyncpg://u:pw@db/test?sslmode=disable", "postgresql://u:pw@db/bx"),
    ],
)
def test_pg_urls_name_another_database_on_the_same_server(url: str, expected: str) -> None:
    assert pg.dsn(url, "bx") == expected
    assert pg.app_url(url, "bx") == expected.replace("postgresql://", "postgresql+asyncpg://")


def test_pg_figures_without_a_server_are_skipped_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(pg.PG_ENV, raising=False)
    assert pg.server_url() is None
    (result,) = pg.skipped("P4-PG", ["x"])
    assert result.met is None
    assert pg.PG_ENV in result.measured


def test_the_bulk_owner_holds_the_first_100k_keys_and_the_rest_are_spread() -> None:
    owners = [bulk_data.owner_of(i) for i in range(bulk_data.KEYS)]
    assert owners.count(1) == bulk_data.OWNED
    assert set(owners[bulk_data.OWNED :]) == set(range(2, bulk_data.USERS + 1))


def test_the_bulk_trail_is_oldest_first_over_two_years_up_to_now() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    first = next(bulk_data.event_rows(now))
    assert len(first) == 10_000
    times = [row["occurred_at"] for row in first]
    assert times == sorted(times)
    assert now - bulk_data.SPAN < times[0] < times[-1] < now
    last = next(itertools.islice(bulk_data.event_rows(now), 99, 100))[-1]["occurred_at"]
    assert last == now


def test_the_writer_summary_names_the_longest_wait_and_a_failure() -> None:
    assert writer._summary([0.01, 0.5, 0.02], None) == {
        "transactions": 3,
        "longest_s": 0.5,
        "median_s": 0.02,
        "failure": None,
    }
    assert writer._summary([], "OperationalError: database is locked")["longest_s"] is None
