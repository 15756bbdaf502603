"""`config.*`: what the program will use, where each value came from, and no secret on show."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.app.core.config import load_app_config
from backend.app.core.profiles import read_config_files
from backend.app.core.provenance import describe, unknown_environment
from tests.support import Cli, Db

CANARY = "Canary-Secret-9f8e7d6c5b4a"
# Every secret setting, and how the environment names it.
SECRET_SETTINGS = {
    "secret_key": "APP_SECRET_KEY",
    "admin_password": "APP_ADMIN_PASSWORD",
    "api_keys.pepper": "APP_API_KEYS__PEPPER",
}
# One run of every namespace's read tasks, an error path, and a change that uses the secrets.
EVERY_KIND_OF_TASK = [
    ("config.show",),
    ("config.show", "--sources"),
    ("config.show", "--json", "--sources"),
    ("config.paths",),
    ("config.paths", "--json"),
    ("config.profiles",),
    ("config.profiles", "--json"),
    ("db.current",),
    ("db.check",),
    ("db.history",),
    ("users.seed-admin",),
    ("users.list", "--json"),
    ("accounts.list",),
    ("keys.list",),
    ("audit.list", "--json"),
    ("users.show", "nobody@example.com"),
]


def set_in_layer(
    layer: str, setting: str, value: str, project: Path, mp: pytest.MonkeyPatch
) -> None:
    """Put ``setting`` = ``value`` in the environment, in .env, or in the dev profile."""
    variable = SECRET_SETTINGS.get(setting) or "APP_" + setting.upper().replace(".", "__")
    if layer == "env":
        mp.setenv(variable, value)
    elif layer == "dotenv":
        with (project / ".env").open("a") as env_file:
            env_file.write(f"{variable}={value}\n")
    else:
        *groups, leaf = setting.split(".")
        indent = "      "
        lines = []
        for depth, group in enumerate(groups):
            lines.append(f"{indent}{'  ' * depth}{group}:")
        lines.append(f"{indent}{'  ' * len(groups)}{leaf}: {value}")
        text = (project / "invoke.yaml").read_text()
        anchor = "    dev:\n"
        assert anchor in text
        (project / "invoke.yaml").write_text(text.replace(anchor, anchor + "\n".join(lines) + "\n"))


# -- secrets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["env", "dotenv", "profile"])
@pytest.mark.parametrize("setting", sorted(SECRET_SETTINGS))
def test_a_secret_from_any_layer_appears_in_no_output_unless_asked_for(
    cli: Cli,
    cli_db: Db,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    layer: str,
    setting: str,
) -> None:
    caplog.set_level("DEBUG")
    set_in_layer(layer, setting, CANARY, project, monkeypatch)
    for argv in EVERY_KIND_OF_TASK:
        cli(*argv, expect=None)
    assert all(result.code in (0, 3) for result in cli.history), cli.history
    assert CANARY not in cli.everything_printed()
    # invoke's own debug log prints its config files whole: why secrets stay out of invoke.yaml
    # (a warning says so, see below); every other logger must never see one.
    ours = [record for record in caplog.records if not record.name.startswith("invoke")]
    assert not [record for record in ours if CANARY in record.getMessage()]
    assert CANARY not in repr(cli_db.dump())  # not in an audit row, nor anywhere else

    shown = cli("config.show", "--show-secrets", "--json").json["settings"]
    group, _, leaf = setting.rpartition(".")
    assert (shown[group][leaf] if group else shown[setting]) == CANARY


def test_secrets_written_into_invoke_yaml_are_reported(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_in_layer("profile", "secret_key", CANARY, project, monkeypatch)
    result = cli("config.show")
    assert "warning: secret_key is set in invoke.yaml (profile dev)" in result.stderr
    assert CANARY not in result.stdout + result.stderr


def test_a_database_password_is_masked_everywhere_unless_asked_for(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", f"postgresql://app:{CANARY}@127.0.0.1:1/app")
    for argv in (
        ("config.show",),
        ("config.show", "--json", "--sources"),
        ("config.paths",),
        ("config.profiles",),
        ("db.check",),
        ("users.list",),
    ):
        cli(*argv, expect=None)
    assert CANARY not in cli.everything_printed()
    assert "postgresql+asyncpg://app:***@127.0.0.1:1/app" in cli.everything_printed()
    shown = cli("config.show", "--show-secrets", "--json").json["settings"]["database_url"]
    assert shown == f"postgresql+asyncpg://app:{CANARY}@127.0.0.1:1/app"


# -- provenance ------------------------------------------------------------------------------------


def sources(cli: Cli) -> dict[str, str]:
    data = cli("config.show", "--sources", "--json").json
    result: dict[str, str] = data["sources"]
    return result


def test_every_setting_says_which_layer_set_it(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_in_layer("dotenv", "database_busy_timeout_ms", "1234", project, monkeypatch)
    set_in_layer("env", "admin_email", "ops@example.com", project, monkeypatch)
    found = sources(cli)
    assert found["database_connect_timeout"] == "default"
    assert found["database_busy_timeout_ms"] == ".env"
    assert found["database_url"] == "invoke profile dev"
    assert found["admin_email"] == "environment variable APP_ADMIN_EMAIL"
    assert set(found) >= {"passwords.min_length", "api_keys.prefix"}  # nested fields listed


def test_a_higher_layer_wins_and_is_named(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_in_layer("dotenv", "admin_email", "dotenv@example.com", project, monkeypatch)
    assert sources(cli)["admin_email"] == "invoke profile dev"  # the profile beats .env
    set_in_layer("env", "admin_email", "env@example.com", project, monkeypatch)
    data = cli("config.show", "--sources", "--json").json
    assert data["sources"]["admin_email"] == "environment variable APP_ADMIN_EMAIL"
    assert data["settings"]["admin_email"] == "env@example.com"


def test_a_nested_group_assembled_from_two_layers_names_each_field_s_layer(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_in_layer("profile", "passwords.min_length", "16", project, monkeypatch)
    set_in_layer("env", "passwords.argon2_time_cost", "3", project, monkeypatch)
    data = cli("config.show", "--sources", "--json").json
    assert data["settings"]["passwords"]["min_length"] == 16
    assert data["settings"]["passwords"]["argon2_time_cost"] == 3
    assert data["sources"]["passwords.min_length"] == "invoke profile dev"
    assert data["sources"]["passwords.argon2_time_cost"] == (
        "environment variable APP_PASSWORDS__ARGON2_TIME_COST"
    )
    assert data["sources"]["passwords.max_length"] == "default"


def test_an_explicit_flag_is_the_highest_layer(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ADMIN_EMAIL", "env@example.com")
    app_section, _ = read_config_files(project)
    app = load_app_config(app=app_section, root=project, overrides={"admin_email": "a@b.example"})
    by_path = {item.path: item for item in describe(app)}
    assert by_path["admin_email"].source == "explicit flag"
    assert by_path["admin_email"].value == "a@b.example"


# -- warnings --------------------------------------------------------------------------------------


def test_unknown_app_variables_are_reported_by_config_show_and_db_check(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABSE_URL", "sqlite:///typo.sqlite")
    expected = (
        "warning: APP_DATABSE_URL is set but is not a setting; it is ignored "
        "(did you mean APP_DATABASE_URL?)"
    )
    assert expected in cli("config.show").stderr
    assert expected in cli("db.check").stderr


def test_switches_and_nested_names_are_not_reported_as_unknown() -> None:
    environ = {
        "APP_PROFILE": "dev",
        "APP_OUTPUT": "json",
        "APP_ASSUME_YES": "1",
        "APP_ALLOW_DESTRUCTIVE": "0",
        "APP_ACTOR": "ci",
        "APP_DEBUG": "0",
        "APP_ROOT": "/srv",
        "APP_PASSWORDS__MIN_LENGTH": "16",
        "APP_API_KEYS": "{}",
        "HOME": "/root",
    }
    assert unknown_environment(environ) == []
    assert len(unknown_environment({**environ, "APP_PASSWORDS__MINLENGTH": "1"})) == 1


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ({"APP_DATABASE_URL": "sqlite:///var/prod.sqlite", "APP_SECRET_KEY": "k" * 40}, "SQLite"),
        ({"APP_DATABASE_URL": "postgresql://app@127.0.0.1:1/app"}, "insecure default"),
        (
            {"APP_DATABASE_URL": "postgresql://app@127.0.0.1:1/app", "APP_SECRET_KEY": "x7Qp2"},
            "shorter than 32",
        ),
    ],
)
def test_a_protected_profile_with_unsafe_settings_warns_and_fails_db_check(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], problem: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    shown = cli("--profile", "prod", "config.show")
    assert any(
        line.startswith("warning: profile prod is protected but") and problem in line
        for line in shown.stderr.splitlines()
    ), shown
    check = cli("--profile", "prod", "db.check", expect=2)
    assert len(check.error_lines) == 1
    assert "unsafe settings for the protected profile prod" in check.error_lines[0]
    assert problem in check.error_lines[0]


def test_a_protected_profile_with_safe_settings_goes_on_to_check_the_database(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", "postgresql://app@127.0.0.1:1/app")
    monkeypatch.setenv("APP_SECRET_KEY", "s" * 40)
    assert "warning:" not in cli("--profile", "prod", "config.show").stderr
    cli("--profile", "prod", "db.check", expect=6)  # past the sanity check, to the server


# -- paths and profiles ----------------------------------------------------------------------------


def test_config_paths_names_the_root_the_files_and_the_resolved_database(
    cli: Cli, project: Path
) -> None:
    data = cli("config.paths", "--json").json
    assert Path(data["root"]) == project.resolve()
    assert str(project.resolve() / "invoke.yaml") in data["config_files"]
    assert data["alembic_ini"] is None  # this project has none: the packaged defaults apply
    assert (Path(data["migrations"]) / "env.py").is_file()
    assert Path(data["database"]) == project.resolve() / "var" / "dev.sqlite"
    assert data["database_exists"] is False
    assert Path(data["dotenv"]) == project.resolve() / ".env"
    assert data["dotenv_exists"] is False


@pytest.mark.parametrize(
    ("argv", "env", "active", "reason"),
    [
        ((), {}, "dev", "app.profile in the invoke config"),
        ((), {"APP_PROFILE": "test"}, "test", "chosen by APP_PROFILE"),
        (("--profile", "test"), {"APP_PROFILE": "dev"}, "test", "chosen on the command line"),
        (("profile", "test"), {"APP_PROFILE": "dev"}, "test", "chosen by a leading `profile` task"),
    ],
)
def test_config_profiles_says_which_is_active_and_why(
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    env: dict[str, str],
    active: str,
    reason: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    rows = {row["id"]: row for row in cli(*argv, "config.profiles", "--json").json}
    assert set(rows) == {"dev", "test", "prod"}
    assert [name for name, row in rows.items() if row["active"]] == [active]
    assert rows[active]["reason"] == reason
    assert rows["prod"]["protected"] is True
    assert rows["dev"]["protected"] is False
    assert rows["dev"]["confirm_destructive"] is False
