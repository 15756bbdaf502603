"""A password the program generated is printed once, to stdout, and nowhere else."""

from __future__ import annotations

import io
import sys

import pytest

from tests.fixtures import secrecy
from tests.fixtures.secrecy import (
    CANARY,
    CANARY_ENV,
    assert_nowhere,
    assert_stored_as_argon2id,
    everything_logged,
    run,
)
from tests.fixtures.users import (
    given_user,
    reused_db,
    snapshot,
)
from tests.support import Cli, Db, Result

db = reused_db
# Fixtures: every test here runs in the most talkative mode (autouse), some also in the plain one.
debug, mode = secrecy.debug, secrecy.mode


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
