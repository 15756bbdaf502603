"""What broke when the CLI was tried from outside, as an operator and as an attacker would.

One test (or a few) per finding, numbered as in docs/hardening.md ("Found from outside"). Each
failed before its fix.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.fixtures.users import (
    PASSWORD,
    PASSWORD_ENV,
    add_api_key,
    given_user,
    snapshot,
)
from tests.support import Cli, Db

ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"])
DRY_NOTE = "dry run: nothing was changed"


def seeded(cli: Cli, db: Db) -> None:
    given_user(db, "ann@example.com", role="admin")
    bob = given_user(db, "bob@example.com", role="admin")
    add_api_key(db, user_id=bob)
    cli("accounts.create", "ci", "--json")
    cli("keys.create", "--account", "ci", "--json")


# -- 3. --help after a task ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("users.show", "--help"),
        ("keys.rotate", "--help"),
        ("users.set-role", "-h"),
        ("db.upgrade", "--help"),
        ("profile", "--help"),
        # Among the task's arguments: invoke took it as the role (found from outside).
        ("users.set-role", "bob@example.com", "--help"),
        ("users.set-role", "bob@example.com", "-h"),
        ("keys.rotate", "3", "--grace", "1h", "-h"),
    ],
)
def test_help_right_after_a_task_prints_that_tasks_help(cli: Cli, argv: tuple[str, ...]) -> None:
    result = cli(*argv)
    assert result.stdout.startswith(f"Usage: backendctl [--core-opts] {argv[0]}")
    assert result.stderr == ""


# -- 4. a mistyped APP_* variable ------------------------------------------------------------------


def test_every_task_warns_about_a_mistyped_app_variable(cli: Cli, cli_db: Db) -> None:
    cli.monkeypatch.setenv("APP_DATABSE_URL", "postgresql://elsewhere/prod")
    for argv in (("db.current",), ("users.list",), ("config.paths",)):
        result = cli(*argv)
        assert (
            "warning: APP_DATABSE_URL is set but is not a setting; it is ignored "
            "(did you mean APP_DATABASE_URL?)"
        ) in result.stderr.splitlines()
    chained = cli("db.current", "users.list")
    assert chained.stderr.count("APP_DATABSE_URL") == 1  # once a run, not once a task


# -- 5. .env cannot lower a guard ------------------------------------------------------------------


def test_a_dotenv_line_cannot_switch_off_the_confirmation_of_a_protected_profile(
    cli: Cli, cli_db: Db, project: Path
) -> None:
    given_user(cli_db, "ann@example.com", role="admin")
    given_user(cli_db, "bob@example.com")
    (project / ".env").write_text("APP_CONFIRM_DESTRUCTIVE=false\nAPP_PROTECTED=false\n")
    cli.monkeypatch.setenv("APP_SECRET_KEY", "k" * 40)
    before = snapshot(cli_db)
    refused = cli("--profile", "prod", "users.delete", "bob@example.com", expect=5)
    assert refused.error_lines[0].endswith("pass --yes (or set APP_ASSUME_YES=1) to confirm")
    assert snapshot(cli_db) == before
    shown = cli("--profile", "prod", "config.show", "--json")
    assert shown.json["settings"]["protected"] is True
    assert shown.json["settings"]["confirm_destructive"] is True
    assert "APP_CONFIRM_DESTRUCTIVE=false in " in shown.stderr
    assert ".env cannot lower a guard" in shown.stderr


def test_a_protected_profile_asks_for_yes_whatever_a_layer_says(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "ann@example.com", role="admin")
    given_user(cli_db, "bob@example.com")
    cli.monkeypatch.setenv("APP_CONFIRM_DESTRUCTIVE", "0")
    cli.monkeypatch.setenv("APP_PROTECTED", "0")
    cli("--profile", "prod", "users.delete", "bob@example.com", expect=5)
    cli("--profile", "prod", "users.delete", "bob@example.com", "--yes")


# -- 6. db.stamp is destructive; an upgrade never goes back ----------------------------------------


def test_stamp_needs_yes_and_on_a_protected_database_the_override(cli: Cli, cli_db: Db) -> None:
    cli.monkeypatch.setenv("APP_SECRET_KEY", "k" * 40)
    cli("--profile", "prod", "db.upgrade")  # a prod profile claims the database
    before = snapshot(cli_db)
    cli("--profile", "test", "db.stamp", "base", expect=5)
    refused = cli("--profile", "test", "db.stamp", "base", "--yes", expect=5)
    assert "APP_ALLOW_DESTRUCTIVE=1" in refused.error_lines[0]
    assert snapshot(cli_db) == before
    cli.monkeypatch.setenv("APP_ALLOW_DESTRUCTIVE", "1")
    assert cli("--profile", "test", "db.stamp", "base", "--yes", "--json").json["to"] == []


def test_an_upgrade_to_a_revision_already_passed_points_at_downgrade(cli: Cli, cli_db: Db) -> None:
    before = snapshot(cli_db)
    result = cli("db.upgrade", "--revision", "0001", expect=4)
    head = cli("db.current", "--json").json["heads"][0]
    assert result.error_lines[0].startswith(f"error: the database is at {head}, already past 0001")
    assert "db.downgrade" in result.error_lines[0]
    assert snapshot(cli_db) == before


# -- 10. no database is assumed outside a checkout -------------------------------------------------


def test_the_installed_cli_outside_a_checkout_names_no_database(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = cli("db.upgrade", expect=2)
    assert result.error_lines == [
        "error: no database is configured: set APP_DATABASE_URL, or database_url in the profile"
    ]
    assert list(empty.iterdir()) == []


# -- 12. production sanity on every task -----------------------------------------------------------


@ONLY_SQLITE
def test_every_task_under_a_protected_profile_prints_its_unsafe_settings(
    cli: Cli, cli_db: Db
) -> None:
    result = cli("--profile", "prod", "db.current")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: profile prod is protected but secret_key is the insecure default "
        "(set APP_SECRET_KEY)",
        "warning: profile prod is protected but database_url is SQLite; a protected profile "
        "needs a server database",
    ]
    cli("--profile", "prod", "db.check", expect=2)


# -- 13. private database files --------------------------------------------------------------------


@ONLY_SQLITE
def test_new_database_files_are_private_and_db_check_warns_about_readable_ones(
    cli: Cli, cli_empty_db: Db
) -> None:
    path = Path(cli_empty_db.path)
    cli("db.upgrade", "users.seed-admin")
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for file in path.parent.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert "warning" not in cli("db.check").stderr
    path.chmod(0o644)
    warned = cli("db.check").stderr
    assert f"warning: {path} can be read by other users" in warned


def test_every_folder_made_for_a_new_database_is_private(cli: Cli, project: Path) -> None:
    cli.monkeypatch.setenv("APP_DATABASE_URL", "sqlite:///x1/y1/z.sqlite")
    cli("db.upgrade")
    for folder in (project / "x1", project / "x1" / "y1"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


# -- 14. ids are never reused ----------------------------------------------------------------------


def test_ids_of_deleted_rows_are_never_given_again(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "ann@example.com", role="admin")
    cli.monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    first = cli(
        "users.create", "--email", "b@example.com", "--password-env", PASSWORD_ENV, "--json"
    )
    key = cli("keys.create", "--user", "b@example.com", "--json").json
    cli("users.delete", "b@example.com", "--yes")
    again = cli(
        "users.create", "--email", "c@example.com", "--password-env", PASSWORD_ENV, "--json"
    )
    new_key = cli("keys.create", "--user", "c@example.com", "--json").json
    assert again.json["id"] > first.json["id"]
    assert new_key["id"] > key["id"]
    deleted = [e for e in _audit(cli) if e["action"] == "user.delete"]
    assert deleted[0]["target"] == "b@example.com"  # the event keeps the email as it was


def _audit(cli: Cli) -> list[dict[str, object]]:
    events: list[dict[str, object]] = cli("audit.list", "--json").json
    return events


# -- 15. a config file someone else could have written ---------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_an_invoke_yaml_that_others_can_write_or_own_is_refused(cli: Cli, project: Path) -> None:
    config = project / "invoke.yaml"
    config.chmod(0o666)
    refused = cli("config.show", expect=2)
    assert "everyone can write to it" in refused.error_lines[0]
    config.chmod(0o664)  # group-writable, as with a umask of 002: accepted
    cli("config.show")
    os.chown(config, 65534, 65534)  # nobody
    refused = cli("config.show", expect=2)
    assert "belongs to another user (uid 65534)" in refused.error_lines[0]


def test_a_dotenv_that_others_can_write_or_own_is_refused(cli: Cli, project: Path) -> None:
    # It would choose the database and the secret key under any profile (found from outside).
    dotenv = project / ".env"
    dotenv.write_text("APP_DATABASE_URL=sqlite:///elsewhere.sqlite\n")
    dotenv.chmod(0o666)
    refused = cli("config.show", expect=2)
    assert "everyone can write to it" in refused.error_lines[0]
    dotenv.chmod(0o664)
    cli("config.show")  # group-writable, as with a umask of 002: accepted
    os.chown(dotenv, 65534, 65534)
    refused = cli("config.show", expect=2)
    assert "belongs to another user (uid 65534)" in refused.error_lines[0]


# -- smaller things --------------------------------------------------------------------------------


def test_a_grace_of_zero_stops_the_old_key_now_and_an_empty_scope_is_invalid(
    cli: Cli, cli_db: Db
) -> None:
    cli("accounts.create", "ci")
    key = cli("keys.create", "--account", "ci", "--json").json
    rotated = cli("keys.rotate", str(key["id"]), "--grace", "0s", "--json").json
    assert rotated["old_key_ends"] is not None
    shown = cli("keys.show", str(key["id"]), "--json").json
    assert shown["status"] == "revoked"
    result = cli("keys.create", "--account", "ci", "--scope", "", expect=2)
    assert result.error_lines == [
        "error: invalid scope '': use lower-case letters, digits and _.:- (e.g. users:read), or *"
    ]


def test_a_long_email_is_said_to_be_too_long(cli: Cli, cli_db: Db) -> None:
    result = cli("users.show", "a" * 300 + "@example.com", expect=2)
    assert result.error_lines[0].endswith("longer than 254 characters")


def test_search_folds_case_beyond_ascii(cli: Cli, cli_db: Db) -> None:
    cli.monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    cli("users.create", "--email", "z@example.com", "--name", "Zoë", "--password-env", PASSWORD_ENV)
    found = cli("users.list", "--search", "ZOË", "--json").json
    assert [row["name"] for row in found] == ["Zoë"]


def test_wide_characters_keep_table_columns_aligned(cli: Cli, cli_db: Db) -> None:
    cli.monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    for email, name in (("a@example.com", "山田太郎"), ("b@example.com", "Bob")):
        cli("users.create", "--email", email, "--name", name, "--password-env", PASSWORD_ENV)
    from backend.app.cli._output import width

    lines = cli("users.list").stdout.splitlines()
    roles = [width(line[: line.index(" member")]) for line in lines[1:]]
    assert len(set(roles)) == 1, lines


def test_a_profile_task_with_nothing_after_it_says_so(cli: Cli) -> None:
    result = cli("profile", "test")
    assert "no task followed it" in result.stderr


def test_json_output_escapes_what_an_ascii_stdout_cannot_encode() -> None:
    import io

    from backend.app.cli._output import Output

    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    Output(as_json=True, stdout=stream).result({"name": "Zoë"})
    stream.flush()
    raw = stream.buffer.getvalue()
    assert json.loads(raw) == {"name": "Zoë"}
