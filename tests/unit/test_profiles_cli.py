"""Profiles through the CLI, as typed: which is active and why, unknown ones, APP_ROOT."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.app.core.profiles import (
    package_defaults,
)
from tests.support import Cli

APP = package_defaults()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- through the CLI, as typed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [("--profile", "nope", "db.current"), ("profile", "nope", "db.current")],
    ids=["flag", "leading-task"],
)
def test_an_unknown_profile_on_the_command_line_exits_2_listing_the_known_ones(
    cli: Cli, argv: tuple[str, ...]
) -> None:
    result = cli(*argv, expect=2)
    assert len(result.error_lines) == 1, str(result)
    assert "unknown profile 'nope'" in result.error_lines[0]
    assert result.error_lines[0].endswith("known profiles: dev, prod, test")
    assert result.stdout == ""


def test_an_unknown_app_profile_exits_2_and_names_the_variable(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PROFILE", "nope")
    result = cli("db.current", expect=2)
    assert len(result.error_lines) == 1
    assert "chosen by APP_PROFILE" in result.error_lines[0]


def test_an_unknown_profile_in_invoke_yaml_exits_2(cli: Cli, project: Path) -> None:
    write(project / "invoke.yaml", "app:\n  profile: nope\n")
    result = cli("db.current", expect=2)
    assert "app.profile in the invoke config" in result.stderr


def test_the_flag_beats_app_profile_and_a_later_leading_task_beats_the_flag(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PROFILE", "dev")
    monkeypatch.setenv("APP_DATABASE_URL", "sqlite:///var/any.sqlite")
    assert "profile test " in cli("--profile", "test", "db.current").stderr
    assert (
        "profile prod (protected) "
        in cli("--profile", "test", "profile", "prod", "db.current").stderr
    )
    assert "profile dev " in cli("db.current").stderr


def test_the_cli_sees_the_project_profiles_merged_over_the_shipped_ones(
    cli: Cli, project: Path
) -> None:
    write(
        project / "invoke.yaml",
        "app:\n  profiles:\n    dev:\n      database_url: sqlite:///var/custom.sqlite\n",
    )
    result = cli("db.upgrade")
    assert "profile dev · database var/custom.sqlite" in result.stderr
    assert (project / "var" / "custom.sqlite").is_file()
    # confirm_destructive: false still comes from the shipped dev profile: no --yes needed.
    cli("db.downgrade", "--revision", "base")


def test_malformed_invoke_yaml_is_a_one_line_error_with_exit_2(cli: Cli, project: Path) -> None:
    write(project / "invoke.yaml", "app:\n  profiles: [\n")
    result = cli("db.current", expect=2)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ")
    assert "invoke.yaml" in result.error_lines[0]


@pytest.mark.parametrize(
    "text", ["app: 5\n", "app:\n  profiles:\n    dev: 5\n"], ids=["app", "profile"]
)
def test_an_invoke_yaml_of_the_wrong_shape_is_a_one_line_error_with_exit_2(
    cli: Cli, project: Path, text: str
) -> None:
    write(project / "invoke.yaml", text)
    result = cli("db.current", expect=2)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "invoke.yaml" in result.error_lines[0]


def test_from_a_subfolder_the_project_root_is_still_the_folder_of_invoke_yaml(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "docs" / "deep").mkdir(parents=True)
    monkeypatch.chdir(project / "docs" / "deep")
    cli("db.upgrade")
    assert (project / "var" / "dev.sqlite").is_file()
    assert not (project / "docs" / "deep" / "var").exists()


def test_dotenv_is_read_from_the_project_root_by_the_cli(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project / ".env", "APP_DATABASE_CONNECT_TIMEOUT=soon\n")
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    result = cli("db.current", expect=2)
    assert result.error_lines == [
        "error: invalid setting database_connect_timeout: "
        "Input should be a valid number, unable to parse string as a number"
    ]


def test_app_root_names_the_project_when_there_is_no_invoke_yaml(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "deployed"
    root.mkdir()
    monkeypatch.setenv("APP_ROOT", str(root))
    monkeypatch.setenv("APP_DATABASE_URL", "sqlite:///var/dev.sqlite")
    result = cli("db.upgrade")
    assert (root / "var" / "dev.sqlite").is_file()
    assert "profile dev" in result.stderr
