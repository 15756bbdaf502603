"""A password the program generated is printed once, to stdout, and nowhere else."""

from __future__ import annotations

import io
import logging
import sys
import traceback

import pytest

from tests.fixtures.users import (
    given_user,
    reused_db,
    snapshot,
    user_row,
    verifies,
)
from tests.support import Cli, Db, Result

db = reused_db

CANARY = "Canary-Pw-7f3a9c2e1b"
TOO_SHORT = "Canary-7f"  # shorter than the 12-character minimum, and not a part of CANARY
TOO_LONG = CANARY * 60  # longer than the 1024-character maximum
CANARY_ENV = "CANARY_PASSWORD"


@pytest.fixture(autouse=True)
def debug(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The most talkative mode: every log record kept, tracebacks printed on errors."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("APP_DEBUG", "1")


@pytest.fixture(params=["debug", "plain"])
def mode(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, debug: None) -> str:
    """Also the ordinary mode, whose error paths differ (one line, no traceback)."""
    if request.param == "plain":
        caplog.set_level(logging.INFO)
        request.getfixturevalue("monkeypatch").delenv("APP_DEBUG")
    return str(request.param)


def run(cli: Cli, *argv: str, stdin: str | None = None, expect: int) -> Result:
    """Like ``cli(...)``, but a traceback is allowed (debug mode prints them): it is captured."""
    from backend.app.cli.__main__ import program

    cli.capsys.readouterr()
    if stdin is not None:
        cli.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    trace = ""
    try:
        program().run(["backendctl", *argv], exit=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except Exception:
        trace, code = traceback.format_exc(), 1
    out, err = cli.capsys.readouterr()
    result = Result(argv, code, out, err + trace)
    cli.history.append(result)
    assert code == expect, str(result)
    return result


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or ""]
    return "\n".join(parts)


def assert_nowhere(secret: str, cli: Cli, db: Db, caplog: pytest.LogCaptureFixture) -> None:
    assert cli.history, "nothing was run"
    assert secret not in cli.everything_printed()
    assert secret not in everything_logged(caplog)
    assert secret not in repr(snapshot(db))


def assert_stored_as_argon2id(db: Db, email: str, password: str) -> None:
    stored = user_row(db, email)["password_hash"]
    assert stored.startswith("$argon2id$")
    assert verifies(password, stored)


# -- a password the program generated --------------------------------------------------------------


def generated_password(result: Result) -> str:
    if result.stdout.startswith("{"):
        password: str = result.json["password"]
        return password
    return result.stdout.split("password (shown once): ", 1)[1].strip()


@pytest.mark.parametrize(
    "argv",
    [
        ("users.create", "--email", "a@example.com", "--random-password"),
        ("users.create", "--email", "a@example.com", "--random-password", "--json"),
        ("users.seed-admin", "--email", "a@example.com"),
        ("users.seed-admin", "--email", "a@example.com", "--json"),
        ("users.seed-admin", "--email", "a@example.com", "--random-password"),
    ],
    ids=" ".join,
)
def test_a_generated_password_is_printed_once_on_stdout_and_nowhere_else(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture, argv: tuple[str, ...]
) -> None:
    result = run(cli, *argv, expect=0)
    password = generated_password(result)
    run(cli, "users.seed-admin", "--email", "a@example.com", expect=0)
    run(cli, "audit.list", "--json", expect=0)

    assert len(password) >= 24
    assert result.stdout.count(password) == 1
    assert cli.everything_printed().count(password) == 1
    assert password not in everything_logged(caplog)
    assert password not in repr(snapshot(cli_db))
    assert_stored_as_argon2id(cli_db, "a@example.com", password)


def test_a_generated_new_password_is_printed_once_on_stdout_and_nowhere_else(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    given_user(cli_db, "a@example.com")

    result = run(
        cli, "users.set-password", "a@example.com", "--random-password", "--json", expect=0
    )
    password = generated_password(result)

    assert cli.everything_printed().count(password) == 1
    assert password not in everything_logged(caplog)
    assert password not in repr(snapshot(cli_db))
    assert_stored_as_argon2id(cli_db, "a@example.com", password)


def test_a_generated_password_is_not_printed_when_the_command_fails(
    cli: Cli, cli_db: Db, mode: str
) -> None:
    given_user(cli_db, "taken@example.com")

    for argv, code in (
        (("users.create", "--email", "taken@example.com", "--random-password"), 4),
        (("users.set-password", "ghost@example.com", "--random-password", "--json"), 3),
        (("users.create", "--email", "b@example.com", "--role", "x", "--random-password"), 2),
    ):
        assert run(cli, *argv, expect=code).stdout == ""  # the only place it would be printed


# -- a password that is not text -------------------------------------------------------------------

UNDECODABLE = CANARY.encode() + b"\xff\xfe"


def test_a_password_that_is_not_utf8_text_is_invalid_input_and_appears_nowhere(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    given_user(cli_db, "taken@example.com")
    before = snapshot(cli_db)
    # What Python makes of undecodable bytes in the environment (and on a surrogateescape stdin).
    escaped = UNDECODABLE.decode("utf-8", "surrogateescape")
    cli.monkeypatch.setenv(CANARY_ENV, escaped)
    cli.monkeypatch.setenv("APP_ADMIN_PASSWORD", escaped)

    for argv, stdin in (
        (("users.create", "--email", "b@example.com", "--password-env", CANARY_ENV), None),
        (("users.create", "--email", "b@example.com", "--password-stdin"), escaped + "\n"),
        (("users.set-password", "taken@example.com", "--password-env", CANARY_ENV), None),
        (("users.seed-admin", "--email", "root@example.com"), None),
    ):
        result = run(cli, *argv, stdin=stdin, expect=2)

        assert "UTF-8" in result.error_lines[0], str(result)
        assert "\\udc" not in result.stderr
        assert snapshot(cli_db) == before
    assert_nowhere(CANARY, cli, cli_db, caplog)


def test_undecodable_bytes_on_stdin_are_invalid_input_and_appear_nowhere(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    before = snapshot(cli_db)
    stdin = io.TextIOWrapper(io.BytesIO(UNDECODABLE + b"\n"), encoding="utf-8", errors="strict")
    cli.monkeypatch.setattr(sys, "stdin", stdin)

    result = run(cli, "users.create", "--email", "b@example.com", "--password-stdin", expect=2)

    assert "UTF-8" in result.error_lines[0], str(result)
    assert "0xff" not in result.stderr
    assert snapshot(cli_db) == before
    assert_nowhere(CANARY, cli, cli_db, caplog)
