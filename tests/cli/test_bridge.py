"""The bridge between invoke and the backend: coroutines that really run, errors to exit codes,
output modes, the `profile` task and the per-invocation switches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

from backend.app.cli.__main__ import program
from backend.app.services import schema
from tests.support import Cli, Db

PASSWORD = "hunter2-Sup3rS3cret"
UNREACHABLE = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/x"
# The bridge does not depend on the engine; PostgreSQL runs where it does (event loops, engines).
ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"])


def failing_with(error: BaseException) -> Callable[..., Any]:
    async def fail(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise error

    return fail


def run_raw(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Like the `cli` fixture, but a traceback on stderr is allowed (debug mode shows one)."""
    capsys.readouterr()
    try:
        program().run(["backendctl", *argv], exit=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


# -- coroutine tasks really run, and their failures fail the process ------------------------------


@ONLY_SQLITE
def test_a_coroutine_task_really_runs(cli: Cli, cli_empty_db: Db) -> None:
    cli("db.upgrade")
    assert "users" in cli_empty_db.tables()


def test_a_failing_service_call_fails_the_process(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE)
    result = cli("db.upgrade", expect=6)
    assert len(result.error_lines) == 1


@ONLY_SQLITE
def test_an_unexpected_exception_is_exit_1_and_one_line_pointing_at_app_debug(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "current", failing_with(RuntimeError("the disk fell off")))
    result = cli("db.current", expect=1)
    assert result.error_lines == [
        "error: unexpected failure (RuntimeError): the disk fell off "
        "(set APP_DEBUG=1 for a traceback)"
    ]
    assert result.stdout == ""


@ONLY_SQLITE
def test_an_unexpected_exception_message_is_scrubbed_of_secrets_and_cut_to_one_line(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_SECRET_KEY", PASSWORD + "-key")
    message = f"cannot use postgresql://app:{PASSWORD}@db/app with key {PASSWORD}-key\nmore"
    monkeypatch.setattr(schema, "current", failing_with(ValueError(message)))
    result = cli("db.current", expect=1)
    assert len(result.error_lines) == 1
    assert "postgresql://app:***@db/app" in result.error_lines[0]
    assert result.error_lines[0].endswith("with key ********** (set APP_DEBUG=1 for a traceback)")
    assert PASSWORD not in result.stderr


@ONLY_SQLITE
def test_app_debug_lets_an_unexpected_exception_through_with_its_traceback(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(schema, "current", failing_with(RuntimeError("the disk fell off")))
    monkeypatch.setenv("APP_DEBUG", "1")
    # Out of the program, Python prints the traceback and exits 1, as for any uncaught error.
    with pytest.raises(RuntimeError, match="the disk fell off"):
        run_raw(capsys, "db.current")


def test_debug_mode_shows_the_traceback_of_an_expected_error_without_its_secrets(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE)
    monkeypatch.setenv("APP_DEBUG", "1")
    code, out, err = run_raw(capsys, "db.check")
    assert code == 6
    assert "Traceback (most recent call last)" in err
    assert err.rstrip().splitlines()[-1].startswith("error: connection refused")
    assert PASSWORD not in out + err


@ONLY_SQLITE
def test_an_interrupted_task_exits_130_saying_the_transaction_was_rolled_back(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "current", failing_with(KeyboardInterrupt()))
    result = cli("db.current", expect=130)
    assert result.error_lines == ["error: interrupted; the current transaction was rolled back"]


@ONLY_SQLITE
def test_a_failing_task_stops_the_chain(cli: Cli, cli_empty_db: Db) -> None:
    result = cli("db.check", "db.upgrade", expect=7)
    assert "Running upgrade" not in result.stderr
    assert cli("db.current", "--json").json["revisions"] == []


@ONLY_SQLITE
def test_a_chain_runs_a_repeated_task_again(cli: Cli, cli_empty_db: Db) -> None:
    """Invoke would dedupe the second call: `profile dev db.upgrade profile test db.upgrade`."""
    result = cli("db.upgrade", "--json", "db.upgrade", "--json")
    assert [line["status"] for line in result.json_lines] == ["upgraded", "unchanged"]


def test_each_task_of_a_chain_gets_its_own_event_loop_and_engine(cli: Cli, cli_db: Db) -> None:
    """asyncpg breaks when a pooled engine outlives its loop: every task disposes its own."""
    result = cli("db.current", "--json", "db.check", "--json", "db.current", "--json")
    assert [line.get("at_head", line.get("status")) for line in result.json_lines] == [
        True,
        "ok",
        True,
    ]


# -- output modes ---------------------------------------------------------------------------------


@ONLY_SQLITE
def test_app_output_json_prints_json_and_keeps_only_the_banner_on_stderr(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_OUTPUT", "json")
    result = cli("db.current")
    assert result.json["at_head"] is True
    # CI logs are where knowing the profile and the database matters most.
    assert result.stderr.splitlines() == [f"profile dev · database {cli_db.path}"]


@ONLY_SQLITE
def test_a_chain_of_two_tasks_prints_two_json_lines(
    cli: Cli, cli_empty_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_OUTPUT", "json")
    upgraded, current = cli("db.upgrade", "db.current").json_lines
    assert upgraded["status"] == "upgraded"
    assert current["at_head"] is True


@ONLY_SQLITE
def test_json_flags_on_each_task_of_a_chain_print_one_line_each(cli: Cli, cli_db: Db) -> None:
    result = cli("db.upgrade", "--json", "db.history", "--json")
    unchanged, history = result.json_lines
    assert unchanged["status"] == "unchanged"
    assert isinstance(history, list)
    assert all("id" in row for row in history)


def test_an_error_in_json_mode_prints_nothing_on_stdout(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_OUTPUT", "json")
    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE)
    result = cli("db.check", expect=6)
    assert result.stdout == ""
    assert len(result.error_lines) == 1


# -- the `profile` task ---------------------------------------------------------------------------


@ONLY_SQLITE
def test_a_leading_profile_task_changes_the_profile_of_the_next_task(cli: Cli, cli_db: Db) -> None:
    result = cli("profile", "prod", "db.current")
    assert result.stderr.splitlines()[0].startswith("profile prod (protected) · database ")


@ONLY_SQLITE
def test_a_profile_task_in_the_middle_of_a_chain_affects_only_the_tasks_after_it(
    cli: Cli, cli_db: Db
) -> None:
    result = cli("db.current", "profile", "test", "db.current")
    announced = [line.split(" · ")[0] for line in result.stderr.splitlines() if " · " in line]
    assert announced == ["profile dev", "profile test"]


@ONLY_SQLITE
def test_profile_task_selection_reaches_the_database_stamp(cli: Cli, cli_empty_db: Db) -> None:
    cli("profile", "test", "db.upgrade")
    assert cli("db.current", "--json").json["stamp"] == {"profile": "test", "protected": False}


# -- switches -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_ASSUME_YES", "maybe"),
        ("APP_ALLOW_DESTRUCTIVE", "perhaps"),
        ("APP_DEBUG", "verbose"),
        ("APP_OUTPUT", "xml"),
        ("APP_ACTOR", "tab\there"),
    ],
)
def test_a_malformed_switch_is_invalid_input(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    result = cli("db.history", expect=2)
    assert len(result.error_lines) == 1
    assert name in result.error_lines[0]
    assert value not in result.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 7), ("true", 7), ("YES", 7), ("on", 7), ("0", 5), ("false", 5), ("off", 5), ("", 5)],
)
def test_app_assume_yes_reads_the_usual_spellings_of_yes_and_no(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: int
) -> None:
    monkeypatch.setenv("APP_ASSUME_YES", value)
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite:///{tmp_path}/missing/app.sqlite")
    # Confirmed, the guard lets the task go on to find there is no database yet (7); else 5.
    cli("--profile", "test", "db.downgrade", "--revision", "base", expect=expected)
    assert not (tmp_path / "missing").exists()
