"""The few private things of our dependencies the code relies on, each read in one place.

If an upgrade of invoke or SQLAlchemy renames or reshapes one of them, these fail loudly here,
naming what changed, rather than the CLI misbehaving somewhere else.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke.config import Config
from invoke.program import Program
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from backend.app.cli import _invoke_config, _parsing
from backend.app.core.hot_path import Prepared
from backend.app.models import ApiKey
from backend.app.repositories.keys import lookup_query


def test_invoke_config_keeps_the_project_folder_and_the_files_it_loaded(tmp_path: Path) -> None:
    (tmp_path / "invoke.yaml").write_text("app:\n  profile: test\n")
    config = Config()
    config.set_project_location(str(tmp_path))
    config.load_project()
    assert _invoke_config.project_folder(config) == tmp_path
    assert _invoke_config.loaded_files(config) == (tmp_path / "invoke.yaml",)
    assert _invoke_config.level_data(config, "project") == {"app": {"profile": "test"}}
    assert _invoke_config.level_path(config, "project") == str(tmp_path / "invoke.yaml")


def test_invoke_config_keeps_the_overrides_level() -> None:
    config = Config(overrides={"tasks": {"dedupe": False}})
    assert _invoke_config.current_overrides(config) == {"tasks": {"dedupe": False}}


def test_invoke_program_still_has_the_methods_the_parsing_fixes_wrap() -> None:
    for name in ("parse_tasks", "parse_cleanup", "_make_parser", "print_task_help"):
        assert callable(getattr(Program, name)), name
    program = Program()
    program.create_config()
    program.parse_core(["inv", "users.show", "--help"])
    assert program.core.unparsed == ["users.show", "--help"]
    assert program.args.help.value is None  # what parse_tasks sets to the task's name


def test_invoke_still_reports_an_unknown_token_with_the_message_we_read() -> None:
    from invoke.collection import Collection
    from invoke.exceptions import ParseError
    from invoke.parser import Parser
    from invoke.tasks import task

    @task
    def show(c: object) -> None: ...

    parser = Parser(contexts=Collection(show).to_contexts())
    with pytest.raises(ParseError) as caught:
        parser.parse_argv(["shwo"])
    assert str(caught.value) == "No idea what 'shwo' is!"
    assert _parsing.explain(caught.value, ["show"]).code == _parsing.INVALID_INPUT


def test_sqlalchemy_compiles_the_hot_lookup_with_the_processors_hot_path_reads() -> None:
    prepared = Prepared.of(lookup_query(), sqlite.dialect())
    assert prepared.names == ("digest",)
    assert prepared.sql.count("?") == 1
    assert "api_keys.digest = ?" in prepared.sql
    assert len(prepared.keys) == len(prepared.result_processors) == 14
    assert prepared.bind({"digest": "d" * 64}) == ["d" * 64]


def test_hot_path_applies_the_result_processors_sqlalchemy_would() -> None:
    prepared = Prepared.of(select(ApiKey.scopes, ApiKey.expires_at), sqlite.dialect())
    row = prepared.row(['["a", "b"]', "2027-01-31 12:00:00.000000"])
    assert row["scopes"] == ["a", "b"]
    assert row["expires_at"].isoformat() == "2027-01-31T12:00:00+00:00"
