"""A canary password fed through every path never shows up anywhere but as an argon2id hash.

Anywhere means: stdout and stderr of every command (tracebacks included: these tests run with
the root logger at DEBUG, as `inv -d` does, and some with APP_DEBUG=1), every log record, every
column of every table (the audit trail included). A generated password is the one exception:
printed once, on stdout, and nowhere else.
"""

from __future__ import annotations

import pytest

from tests.fixtures import secrecy
from tests.fixtures.secrecy import (
    CANARY,
    CANARY_ENV,
    TOO_LONG,
    TOO_SHORT,
    assert_nowhere,
    assert_stored_as_argon2id,
    run,
)
from tests.fixtures.users import (
    given_user,
    reused_db,
    snapshot,
    user_row,
    verifies,
)
from tests.support import Cli, Db

db = reused_db
# Fixtures: every test here runs in the most talkative mode (autouse), some also in the plain one.
debug, mode = secrecy.debug, secrecy.mode


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
