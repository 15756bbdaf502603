"""Wrong database URLs and the help of every `db` task, through the console script."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from tests.alembic_project import copy_of_migrations
from tests.fixtures.db_cli import (
    PASSWORD,
    UNREACHABLE,
)
from tests.support import Cli

# -- wrong URLs and invoke's own errors ----------------------------------------------------------


TOUCHING_THE_DATABASE = [
    ("db.upgrade",),
    ("db.upgrade", "--sql"),
    ("db.downgrade", "--revision", "base", "--yes"),
    ("db.current",),
    ("db.check",),
    ("db.reset", "--yes"),
    ("db.stamp", "head"),
    ("db.revision", "--message", "x", "--autogenerate"),
]


@pytest.mark.parametrize("argv", TOUCHING_THE_DATABASE, ids=" ".join)
def test_an_unreachable_database_is_exit_6_and_one_line_with_the_password_masked(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE)
    result = cli(*argv, expect=6)
    assert len(result.error_lines) == 1
    assert "postgres:***@127.0.0.1:1/x" in result.error_lines[0]
    assert result.stdout == ""
    assert PASSWORD not in cli.everything_printed()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/bt_no_such_db", id="db"),
        pytest.param(f"postgresql://bt_no_such_role:{PASSWORD}@127.0.0.1:5432/x", id="role"),
    ],
)
@pytest.mark.postgres
def test_a_missing_database_or_role_on_a_live_server_is_exit_6(
    cli: Cli, pg_server: str, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    host = pg_server.split("@", 1)[1].split("/", 1)[0]
    monkeypatch.setenv("APP_DATABASE_URL", url.replace("127.0.0.1:5432", host))
    result = cli("db.check", expect=6)
    assert len(result.error_lines) == 1
    assert PASSWORD not in cli.everything_printed()


def test_a_password_in_the_query_string_is_masked_too(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", f"postgresql://app@127.0.0.1:1/x?password={PASSWORD}")
    cli("db.current", expect=6)
    assert PASSWORD not in cli.everything_printed()


def test_an_unknown_task_is_invalid_input_naming_the_closest_task(cli: Cli) -> None:
    result = cli("users.lst", expect=2)
    assert result.error_lines == [
        "error: unknown task 'users.lst' (did you mean users.list?) (see --list)"
    ]
    assert cli("db.xyzzy", expect=2).error_lines == ["error: unknown task 'db.xyzzy' (see --list)"]


def test_an_unknown_flag_is_invalid_input_naming_the_closest_flag(cli: Cli) -> None:
    result = cli("users.create", "--emial", "a@example.com", expect=2)
    assert result.error_lines == [
        "error: unknown flag '--emial' for users.create (did you mean --email?) "
        "(see --help users.create)"
    ]


DB_TASKS = ("upgrade", "downgrade", "current", "history", "check", "reset", "revision", "stamp")


def test_every_db_task_has_a_one_line_summary_and_help_for_every_flag(cli: Cli) -> None:
    import runpy

    from invoke.tasks import Task

    from backend.app.cli import db as db_module

    # Fresh Task objects: invoke pops each flag's help once a parser has been built from it.
    fresh = runpy.run_path(db_module.__file__, run_name="fresh_db_tasks")
    listing = cli("--list").stdout
    for name in DB_TASKS:
        task = fresh[name]
        assert isinstance(task, Task)
        summary = (task.__doc__ or "").strip().splitlines()
        assert len(summary) == 1, f"db.{name} needs a one-line docstring"
        assert f"db.{name}" in listing
        flags = [p for p in inspect.signature(task.body).parameters if p != "c"]
        assert sorted(task.help) == sorted(flags)
        assert all(task.help.values()), f"db.{name} has a flag with empty help"
        helped = cli("--help", f"db.{name}").stdout
        assert all(f"--{flag}" in helped for flag in flags)


def test_db_revision_refuses_to_write_into_an_installed_package(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    """From a wheel the migrations live in site-packages: a file written there would be lost."""
    installed = tmp_path / "lib" / "site-packages" / "backend_migrations"
    versions = copy_of_migrations(project, installed)
    before = sorted(p.name for p in versions.iterdir())
    result = cli("db.revision", "--message", "add a column", expect=2)
    assert "installed package" in result.error_lines[0]
    assert sorted(p.name for p in versions.iterdir()) == before


def test_an_empty_app_variable_leaves_the_lower_layers_in_force(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", "")
    result = cli("config.show", "--json")
    assert result.json["settings"]["database_url"].endswith("/var/dev.sqlite")
