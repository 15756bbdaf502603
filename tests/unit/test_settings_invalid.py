"""Settings: invalid values and unknown keys, named without echoing a value."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.app.core.config import load_app_config
from backend.app.core.profiles import package_defaults
from tests.fixtures import settings as settings_fixtures
from tests.fixtures.settings import (
    SECRETISH,
    build,
    invalid,
    write_dotenv,
)

root = settings_fixtures.root  # a fixture


# -- invalid values and unknown keys --------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "name"),
    [
        ({"passwords": {"min_length": SECRETISH}}, "passwords.min_length"),
        ({"database_connect_timeout": SECRETISH}, "database_connect_timeout"),
        ({"confirm_destructive": SECRETISH}, "confirm_destructive"),
        ({"database_url": SECRETISH}, "database_url"),
        ({"api_keys": {"prefix": SECRETISH}}, "api_keys.prefix"),
        ({"api_keys": {"account_default_expiry": SECRETISH}}, "api_keys.account_default_expiry"),
        ({"api_keys": {"last_used_resolution": SECRETISH}}, "api_keys.last_used_resolution"),
    ],
)
def test_an_invalid_value_names_the_setting_and_never_echoes_the_value(
    profile: dict[str, Any], name: str, root: Path
) -> None:
    message = invalid(root, profile)
    assert message.startswith(f"invalid setting {name}:")
    assert "\n" not in message
    assert SECRETISH not in message


def test_an_invalid_value_from_the_environment_names_the_setting(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PASSWORDS__ARGON2_TIME_COST", SECRETISH)
    message = invalid(root)
    assert message.startswith("invalid setting passwords.argon2_time_cost:")
    assert SECRETISH not in message


@pytest.mark.parametrize("layer", ["env", "dotenv"])
def test_a_nested_group_given_whole_must_be_json_and_is_never_echoed(
    layer: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if layer == "env":
        monkeypatch.setenv("APP_PASSWORDS", SECRETISH)
    else:
        write_dotenv(root, APP_PASSWORDS="{" + SECRETISH)
    message = invalid(root)
    assert message.startswith("invalid setting passwords: ")
    assert "APP_PASSWORDS__KEY" in message
    assert SECRETISH not in message


def test_a_nested_group_given_whole_as_json_is_read(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PASSWORDS", '{"min_length": 14}')
    assert build(root).passwords.min_length == 14


@pytest.mark.parametrize(
    ("profile", "name"),
    [
        ({"secret_kee": SECRETISH}, "secret_kee"),
        ({"passwords": {"pepper": SECRETISH}}, "passwords.pepper"),
    ],
)
def test_an_unknown_key_is_named_as_an_unknown_setting_without_its_value(
    profile: dict[str, Any], name: str, root: Path
) -> None:
    message = invalid(root, profile)
    assert f"{name}: unknown setting" in message
    assert SECRETISH not in message


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ({"secret_kee": SECRETISH}, "secret_kee: unknown setting (did you mean secret_key?)"),
        (
            {"passwords": {"argon2_memory_cost": 65_536}},
            "passwords.argon2_memory_cost: unknown setting "
            "(did you mean passwords.argon2_memory_kib?)",
        ),
        ({"passwords": {"pepper": SECRETISH}}, "passwords.pepper: unknown setting"),
    ],
)
def test_an_unknown_setting_names_the_closest_one_when_there_is_one(
    profile: dict[str, Any], expected: str, root: Path
) -> None:
    message = invalid(root, profile)
    assert message.endswith(expected)
    assert "did you mean" not in expected or message.count("did you mean") == 1


@pytest.mark.parametrize(
    ("passwords", "name"),
    [
        ({"argon2_memory_kib": 4096}, "passwords.argon2_memory_kib"),
        ({"argon2_time_cost": 1}, "passwords.argon2_time_cost"),
    ],
)
def test_argon2_parameters_below_the_owasp_floor_are_rejected(
    passwords: dict[str, int], name: str, root: Path
) -> None:
    assert invalid(root, {"passwords": passwords}).startswith(f"invalid setting {name}:")


@pytest.mark.parametrize(("value", "expected"), [("36h", timedelta(hours=36)), (90, timedelta(90))])
def test_durations_read_human_text_or_seconds(
    value: object, expected: timedelta, root: Path
) -> None:
    expiry = build(root, {"api_keys": {"user_default_expiry": value}}).api_keys.user_default_expiry
    if isinstance(value, int):
        expected = timedelta(seconds=value)
    assert expiry == expected


@pytest.mark.parametrize("value", [-5, -0.5, 10**12])
def test_a_negative_or_absurd_duration_is_invalid(value: float, root: Path) -> None:
    message = invalid(root, {"api_keys": {"account_default_expiry": value}})
    assert message.startswith("invalid setting api_keys.account_default_expiry:")


# -- through load_app_config -----------------------------------------------------------------------


def test_load_app_config_builds_the_chosen_profiles_settings_with_flags_on_top(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PROFILE", "test")
    shipped = package_defaults()
    shipped["profiles"]["test"]["database_url"] = "sqlite:///var/test.sqlite"
    app = load_app_config(app=shipped, root=root, overrides={"admin_email": "f@x.io"})
    assert app.profile.name == "test"
    assert app.settings.database_url == f"sqlite+aiosqlite:///{root / 'var' / 'test.sqlite'}"
    assert app.settings.confirm_destructive is True
    assert app.settings.admin_email == "f@x.io"


def test_the_prod_profile_is_protected_and_dev_needs_no_confirmation(root: Path) -> None:
    prod = load_app_config(app=package_defaults(), root=root, selected="prod")
    dev = load_app_config(app=package_defaults(), root=root)
    assert (prod.protected, prod.settings.database_url) == (True, None)
    assert (dev.protected, dev.settings.confirm_destructive) == (False, False)
