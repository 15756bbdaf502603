"""Settings: the layers and their order, nested merging, validation that never echoes a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.app.core.settings import Settings
from tests.fixtures import settings as settings_fixtures
from tests.fixtures.settings import (
    SECRETISH,
    build,
    invalid,
    write_dotenv,
)

root = settings_fixtures.root  # a fixture


# -- precedence ------------------------------------------------------------------------------------

LAYERS = ("default", "dotenv", "profile", "env", "flag")


def _settings_with_layers_up_to(top: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Set admin_email in every layer from the bottom up to ``top``, each naming its layer."""
    upto = LAYERS[: LAYERS.index(top) + 1]
    if "dotenv" in upto:
        write_dotenv(root, APP_ADMIN_EMAIL="dotenv@example.com")
    profile = {"admin_email": "profile@example.com"} if "profile" in upto else {}
    if "env" in upto:
        monkeypatch.setenv("APP_ADMIN_EMAIL", "env@example.com")
    overrides = {"admin_email": "flag@example.com"} if "flag" in upto else {}
    return build(root, profile, **overrides)


@pytest.mark.parametrize("top", LAYERS)
def test_each_layer_beats_every_layer_below_it(
    top: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings_with_layers_up_to(top, root, monkeypatch)
    expected = None if top == "default" else f"{top}@example.com"
    assert settings.admin_email == expected


def test_nested_keys_merge_key_by_key_across_all_layers(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dotenv(root, APP_PASSWORDS__ARGON2_PARALLELISM="2")
    monkeypatch.setenv("APP_PASSWORDS__ARGON2_TIME_COST", "3")
    settings = build(root, {"passwords": {"min_length": 16}}, passwords={"max_length": 2048})
    policy = settings.passwords
    assert (policy.argon2_parallelism, policy.argon2_time_cost) == (2, 3)
    assert (policy.min_length, policy.max_length) == (16, 2048)
    assert policy.argon2_memory_kib == 19_456  # untouched keys keep their defaults


def test_a_higher_layer_replaces_only_the_nested_key_it_sets(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PASSWORDS__MIN_LENGTH", "20")
    settings = build(root, {"passwords": {"min_length": 16, "argon2_time_cost": 4}})
    assert settings.passwords.min_length == 20
    assert settings.passwords.argon2_time_cost == 4


def test_a_nested_key_set_in_two_layers_takes_the_higher_one(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dotenv(root, APP_PASSWORDS__MIN_LENGTH="30", APP_PASSWORDS__MAX_LENGTH="300")
    settings = build(root, {"passwords": {"min_length": 16}})
    assert (settings.passwords.min_length, settings.passwords.max_length) == (16, 300)
    monkeypatch.setenv("APP_PASSWORDS__MAX_LENGTH", "400")
    assert build(root, {"passwords": {"min_length": 16}}).passwords.max_length == 400


def test_dotenv_is_read_from_the_project_root_and_not_from_the_cwd(root: Path) -> None:
    write_dotenv(Path.cwd(), APP_ADMIN_EMAIL="cwd@example.com")
    write_dotenv(root, APP_ADMIN_EMAIL="root@example.com")
    assert build(root).admin_email == "root@example.com"


def test_secrets_from_dotenv_are_secret_strings_that_never_print(root: Path) -> None:
    write_dotenv(root, APP_SECRET_KEY=SECRETISH, APP_ADMIN_PASSWORD=SECRETISH)
    settings = build(root)
    assert settings.secret_key.get_secret_value() == SECRETISH
    assert settings.admin_password is not None
    assert settings.admin_password.get_secret_value() == SECRETISH
    assert SECRETISH not in repr(settings)
    assert SECRETISH not in str(settings)
    assert SECRETISH not in settings.model_dump_json()


def test_dotenv_lines_meant_for_other_tools_are_ignored(root: Path) -> None:
    write_dotenv(root, POSTGRES_PASSWORD=SECRETISH, COMPOSE_PROJECT_NAME="demo")
    assert build(root).admin_email is None


@pytest.mark.parametrize(
    "switch",
    [
        "APP_PROFILE",
        "APP_ASSUME_YES",
        "APP_ALLOW_DESTRUCTIVE",
        "APP_OUTPUT",
        "APP_DEBUG",
        "APP_ROOT",
    ],
)
def test_cli_switches_in_dotenv_are_not_settings_and_do_not_break_loading(
    switch: str, root: Path
) -> None:
    write_dotenv(root, **{switch: "1"})
    assert build(root).admin_email is None


def test_a_misspelt_app_setting_in_dotenv_names_the_file_and_the_closest_setting(
    root: Path,
) -> None:
    write_dotenv(root, APP_SECRET_KEE=SECRETISH)
    message = invalid(root)
    assert message == (
        f"{root / '.env'}: APP_SECRET_KEE is not a setting (did you mean APP_SECRET_KEY?)"
    )


# -- database URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("postgres://u@db.internal/app", "postgresql+asyncpg://u@db.internal/app"),
        ("postgresql://u@db.internal/app", "postgresql+asyncpg://u@db.internal/app"),
        ("POSTGRESQL://u@db.internal/app", "postgresql+asyncpg://u@db.internal/app"),
        ("postgresql+asyncpg://u@db.internal/app", "postgresql+asyncpg://u@db.internal/app"),
        ("sqlite:////srv/app.sqlite", "sqlite+aiosqlite:////srv/app.sqlite"),
    ],
)
def test_database_urls_get_the_async_driver(given: str, stored: str, root: Path) -> None:
    assert build(root, database_url=given).database_url == stored


@pytest.mark.parametrize("layer", ["profile", "env", "dotenv"])
def test_a_relative_sqlite_path_resolves_against_the_project_root_from_any_layer(
    layer: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "sqlite:///var/app.sqlite?timeout=3"
    profile = {"database_url": url} if layer == "profile" else {}
    if layer == "env":
        monkeypatch.setenv("APP_DATABASE_URL", url)
    if layer == "dotenv":
        write_dotenv(root, APP_DATABASE_URL=url)
    settings = build(root, profile)
    assert settings.database_url == f"sqlite+aiosqlite:///{root / 'var' / 'app.sqlite'}?timeout=3"


def test_an_absolute_sqlite_path_is_kept_as_it_is(root: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'abs.sqlite'}"
    assert build(root, database_url=url).database_url == url


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite+aiosqlite:///:memory:?cache=shared"]
)
def test_an_in_memory_sqlite_database_is_rejected(url: str, root: Path) -> None:
    message = invalid(root, database_url=url)
    assert message.startswith("invalid setting database_url:")
    assert "in-memory" in message


def test_an_unsupported_driver_is_rejected_without_echoing_the_url(root: Path) -> None:
    message = invalid(root, database_url=f"mysql://app:{SECRETISH}@db/app")
    assert "database_url" in message
    assert "mysql" in message
    assert SECRETISH not in message


def test_repr_and_str_of_settings_mask_the_database_password(root: Path) -> None:
    settings = build(root, database_url=f"postgresql://app:{SECRETISH}@db.internal:5432/app")
    assert settings.database_url is not None
    assert SECRETISH in settings.database_url  # the real value is still there to connect with
    for shown in (repr(settings), str(settings)):
        assert SECRETISH not in shown
        assert "postgresql+asyncpg://app:***@db.internal:5432/app" in shown
