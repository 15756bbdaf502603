"""A canary password fed through every path never shows up anywhere but as an argon2id hash.

Anywhere means: stdout and stderr of every command (tracebacks included: these tests run with
the root logger at DEBUG, as `inv -d` does, and some with APP_DEBUG=1), every log record, every
column of every table (the audit trail included). A generated password is the one exception:
printed once, on stdout, and nowhere else.
"""

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


# -- a password given by the operator --------------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
def test_a_password_from_stdin_is_only_stored_as_an_argon2id_hash(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture, as_json: bool
) -> None:
    json_flag = ["--json"] if as_json else []
    run(
        cli,
        "users.create",
        "--email",
        "a@example.com",
        "--password-stdin",
        *json_flag,
        stdin=CANARY + "\n",
        expect=0,
    )

    assert_stored_as_argon2id(cli_db, "a@example.com", CANARY)
    assert_nowhere(CANARY, cli, cli_db, caplog)


def test_a_password_from_the_environment_is_only_stored_as_an_argon2id_hash(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    cli.monkeypatch.setenv(CANARY_ENV, CANARY)

    run(cli, "users.create", "--email", "a@example.com", "--password-env", CANARY_ENV, expect=0)
    run(cli, "users.show", "a@example.com", "--json", expect=0)
    run(cli, "users.list", expect=0)
    run(cli, "audit.list", "--json", expect=0)

    assert_stored_as_argon2id(cli_db, "a@example.com", CANARY)
    assert_nowhere(CANARY, cli, cli_db, caplog)


def test_the_configured_admin_password_is_only_stored_as_an_argon2id_hash(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    cli.monkeypatch.setenv("APP_ADMIN_PASSWORD", CANARY)

    run(cli, "users.seed-admin", expect=0)
    run(cli, "users.seed-admin", "--json", expect=0)

    assert_stored_as_argon2id(cli_db, "admin@example.com", CANARY)
    assert_nowhere(CANARY, cli, cli_db, caplog)


def test_a_seed_admin_password_from_stdin_is_only_stored_as_an_argon2id_hash(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    run(cli, "users.seed-admin", "--password-stdin", "--json", stdin=CANARY + "\n", expect=0)

    assert_stored_as_argon2id(cli_db, "admin@example.com", CANARY)
    assert_nowhere(CANARY, cli, cli_db, caplog)


def test_a_new_password_is_only_stored_as_an_argon2id_hash(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    given_user(cli_db, "a@example.com")
    cli.monkeypatch.setenv(CANARY_ENV, CANARY)

    run(cli, "users.set-password", "a@example.com", "--password-env", CANARY_ENV, expect=0)
    assert_stored_as_argon2id(cli_db, "a@example.com", CANARY)
    run(cli, "users.set-password", "a@example.com", "--password-stdin", stdin=CANARY, expect=0)
    assert_stored_as_argon2id(cli_db, "a@example.com", CANARY)

    assert_nowhere(CANARY, cli, cli_db, caplog)


# -- a password on the way to an error -------------------------------------------------------------

FAILURES: list[tuple[str, tuple[str, ...], str | None, int]] = [
    # (the password, argv, stdin, exit code); CANARY_ENV holds the password as well.
    (
        CANARY,
        ("users.create", "--email", "taken@example.com", "--password-env", CANARY_ENV),
        None,
        4,
    ),
    (CANARY, ("users.create", "--email", "taken@example.com", "--password-stdin"), "stdin", 4),
    (CANARY, ("users.create", "--email", "not-an-email", "--password-stdin"), "stdin", 2),
    (
        CANARY,
        ("users.create", "--email", "b@example.com", "--role", "x", "--password-stdin"),
        "stdin",
        2,
    ),
    (
        CANARY,
        ("users.create", "--email", "b@example.com", "--password-stdin", "--random-password"),
        "stdin",
        2,
    ),
    (
        TOO_SHORT,
        ("users.create", "--email", "b@example.com", "--password-env", CANARY_ENV),
        None,
        2,
    ),
    (TOO_SHORT, ("users.create", "--email", "b@example.com", "--password-stdin"), "stdin", 2),
    (TOO_LONG, ("users.create", "--email", "b@example.com", "--password-env", CANARY_ENV), None, 2),
    (TOO_LONG, ("users.create", "--email", "b@example.com", "--password-stdin"), "stdin", 2),
    (CANARY, ("users.set-password", "ghost@example.com", "--password-env", CANARY_ENV), None, 3),
    (TOO_SHORT, ("users.set-password", "taken@example.com", "--password-stdin"), "stdin", 2),
    (TOO_LONG, ("users.set-password", "taken@example.com", "--password-env", CANARY_ENV), None, 2),
    (CANARY + "\x00", ("users.set-password", "taken@example.com", "--password-stdin"), "stdin", 2),
    (TOO_LONG, ("users.seed-admin", "--email", "root@example.com", "--password-stdin"), "stdin", 2),
]


def test_a_password_in_a_failing_command_appears_nowhere(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    given_user(cli_db, "taken@example.com")
    before = snapshot(cli_db)

    for password, argv, stdin, code in FAILURES:
        cli.monkeypatch.setenv(CANARY_ENV, password.replace("\x00", ""))
        result = run(cli, *argv, stdin=password + "\n" if stdin else None, expect=code)

        assert result.stdout == "", str(result)
        assert len(result.error_lines) == 1, str(result)
        assert ("Traceback" in result.stderr) == (mode == "debug"), str(result)
        assert snapshot(cli_db) == before, argv
        assert_nowhere(password.rstrip("\x00"), cli, cli_db, caplog)
        assert_nowhere(CANARY, cli, cli_db, caplog)


def test_a_configured_admin_password_that_is_too_long_appears_nowhere(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    cli.monkeypatch.setenv("APP_ADMIN_PASSWORD", TOO_LONG)
    before = snapshot(cli_db)

    run(cli, "users.seed-admin", expect=2)

    assert snapshot(cli_db) == before
    assert_nowhere(CANARY, cli, cli_db, caplog)


def test_an_existing_admin_is_not_touched_by_a_changed_configured_password(
    cli: Cli, cli_db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    given_user(cli_db, "admin@example.com", role="admin")
    cli.monkeypatch.setenv("APP_ADMIN_PASSWORD", CANARY)

    run(cli, "users.seed-admin", expect=0)

    assert not verifies(CANARY, user_row(cli_db, "admin@example.com")["password_hash"])
    assert_nowhere(CANARY, cli, cli_db, caplog)
