"""Profiles: which one is active and why, the shipped ones, and config files merging over them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.app.core.config import load_app_config
from backend.app.core.profiles import (
    choose_profile,
    package_defaults,
    profile_values,
    read_config_files,
)
from backend.app.errors import InvalidInput

APP = package_defaults()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- choosing the active profile -------------------------------------------------------------------


def test_a_leading_task_or_flag_beats_app_profile_env_and_config() -> None:
    app = {**APP, "profile": "test"}
    choice = choose_profile(
        app, selected="prod", selected_via="flag", environ={"APP_PROFILE": "dev"}
    )
    assert (choice.name, choice.reason) == ("prod", "flag")


def test_app_profile_env_beats_the_configured_profile() -> None:
    choice = choose_profile({**APP, "profile": "test"}, environ={"APP_PROFILE": "prod"})
    assert (choice.name, choice.reason) == ("prod", "env")


def test_the_configured_profile_beats_the_default() -> None:
    choice = choose_profile({**APP, "profile": "test"}, environ={})
    assert (choice.name, choice.reason) == ("test", "config")


def test_without_any_choice_the_profile_is_dev() -> None:
    app = {key: value for key, value in APP.items() if key != "profile"}
    choice = choose_profile(app, environ={"APP_PROFILE": ""})
    assert (choice.name, choice.reason) == ("dev", "default")


def test_the_process_environment_is_what_app_profile_is_read_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_PROFILE", "test")
    assert choose_profile(APP).name == "test"


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"selected": "nope", "selected_via": "flag"}, "chosen on the command line"),
        ({"environ": {"APP_PROFILE": "nope"}}, "chosen by APP_PROFILE"),
    ],
)
def test_an_unknown_profile_is_invalid_input_listing_the_known_ones(
    kwargs: dict[str, Any], why: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        choose_profile(APP, **kwargs)
    message = str(caught.value)
    assert message.startswith("unknown profile 'nope'")
    assert why in message
    assert message.endswith("known profiles: dev, prod, test")
    assert caught.value.exit_code == 2


def test_profiles_added_by_a_project_are_known_too() -> None:
    app = read_like_invoke({"profiles": {"staging": {"database_url": "sqlite:///var/s.sqlite"}}})
    with pytest.raises(InvalidInput, match=r"known profiles: dev, prod, staging, test$"):
        choose_profile(app, selected="stagin")
    assert choose_profile(app, selected="staging").name == "staging"


def read_like_invoke(project_app: dict[str, Any]) -> dict[str, Any]:
    from backend.app.core.profiles import merge_dicts

    return merge_dicts(package_defaults(), project_app)


# -- the shipped profiles and merging --------------------------------------------------------------


def test_the_shipped_profiles_are_dev_test_and_a_protected_prod() -> None:
    assert APP["profile"] == "dev"
    assert sorted(APP["profiles"]) == ["dev", "prod", "test"]
    assert APP["profiles"]["prod"]["protected"] is True
    assert APP["profiles"]["dev"]["confirm_destructive"] is False
    assert APP["profiles"]["dev"]["admin_email"] == "admin@example.com"


def test_package_defaults_are_a_fresh_copy_each_time() -> None:
    first = package_defaults()
    first["profiles"]["dev"]["admin_email"] = "changed"
    assert package_defaults()["profiles"]["dev"]["admin_email"] != "changed"


def test_the_shipped_profiles_name_no_database() -> None:
    """An installed program that lost its environment must not quietly migrate a new file."""
    defaults = package_defaults()
    assert all("database_url" not in values for values in defaults["profiles"].values())


def test_a_project_invoke_yaml_merges_over_the_shipped_profiles_key_by_key(tmp_path: Path) -> None:
    write(
        tmp_path / "invoke.yaml",
        "app:\n"
        "  profile: test\n"
        "  profiles:\n"
        "    dev:\n"
        "      database_url: sqlite:///var/custom.sqlite\n"
        "    staging:\n"
        "      protected: true\n",
    )
    app, found = read_config_files(tmp_path)
    assert found == [tmp_path / "invoke.yaml"]
    assert app["profile"] == "test"
    dev = profile_values(app, "dev")
    assert dev["database_url"] == "sqlite:///var/custom.sqlite"
    assert dev["confirm_destructive"] is False  # kept from the shipped dev profile
    assert dev["admin_email"] == "admin@example.com"
    assert profile_values(app, "prod") == {"protected": True}
    assert profile_values(app, "staging") == {"protected": True}


def test_the_project_file_beats_the_users_file(tmp_path: Path) -> None:
    home = Path.home()  # a temporary HOME, set by conftest
    write(home / ".invoke.yaml", "app:\n  profile: prod\n  profiles:\n    test:\n      x: 1\n")
    write(tmp_path / "invoke.yaml", "app:\n  profile: test\n")
    app, found = read_config_files(tmp_path)
    assert found == [home / ".invoke.yaml", tmp_path / "invoke.yaml"]
    assert app["profile"] == "test"
    assert app["profiles"]["test"]["x"] == 1


def test_a_missing_project_file_leaves_the_shipped_profiles(tmp_path: Path) -> None:
    app, found = read_config_files(tmp_path)
    assert found == []
    assert app == package_defaults()


def test_a_project_file_without_an_app_section_changes_nothing(tmp_path: Path) -> None:
    write(tmp_path / "invoke.yaml", "run:\n  echo: true\n")
    app, found = read_config_files(tmp_path)
    assert found == [tmp_path / "invoke.yaml"]
    assert app == package_defaults()


def test_malformed_yaml_is_a_one_line_error_naming_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "invoke.yaml", "app:\n  profile: dev\n  profiles: [\n")
    with pytest.raises(InvalidInput) as caught:
        read_config_files(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path} is not valid YAML")
    assert "\n" not in message


@pytest.mark.parametrize(
    "text", ["app: 5\n", "app:\n  profiles:\n    dev: [1, 2]\n"], ids=["app", "profile"]
)
def test_an_app_section_of_the_wrong_shape_is_invalid_input(tmp_path: Path, text: str) -> None:
    write(tmp_path / "invoke.yaml", text)
    with pytest.raises(InvalidInput, match="must be a mapping"):
        profile_values(read_config_files(tmp_path)[0], "dev")


def test_load_app_config_uses_the_chosen_profiles_values(tmp_path: Path) -> None:
    app = read_like_invoke({"profiles": {"test": {"admin_email": "t@example.com"}}})
    config = load_app_config(app=app, root=tmp_path, selected="test")
    assert (config.profile.name, config.profile.reason) == ("test", "task")
    assert config.settings.admin_email == "t@example.com"
    assert config.profiles == ["dev", "prod", "test"]
