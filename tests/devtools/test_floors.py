"""The floors CI forces come from pyproject.toml, by code; the environment check reads it too."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from devtools import floors
from tests.fixtures.databases import CHECKOUT

PYPROJECT = """\
[project]
name = "x"
requires-python = ">=3.11"
dependencies = [
    "invoke>=3.0,<4",
    "sqlalchemy[asyncio]>=2.0.30,<2.2",
    "twice>=1.2,>=1.10",
    "exact==2.0",
    "anything",
    "elsewhere>=1.0; sys_platform == 'nonexistent'",
]

[project.optional-dependencies]
dev = ["pytest>=8.2"]
docs = ["sphinx>=7"]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    return tmp_path


def test_every_floor_is_pinned_with_its_extras_and_nothing_else(root: Path) -> None:
    assert floors.floor_pins(root) == [
        "invoke==3.0",
        "sqlalchemy[asyncio]==2.0.30",
        "twice==1.10",  # the highest floor, compared as versions
        "pytest==8.2",
    ]


def test_the_projects_floors_are_the_declared_ones() -> None:
    pins = floors.floor_pins(CHECKOUT)
    declared = floors.requirements(CHECKOUT)
    assert len(pins) == sum(">=" in text for text in declared)
    # alembic.ini names `path_separator` and `module` post-write hooks: both need 1.16.
    assert "alembic==1.16" in pins
    assert floors.minimum_python(CHECKOUT) == (3, 11)


def test_unmet_names_what_is_missing_or_out_of_range(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = {"invoke": "3.0.3", "sqlalchemy": "2.3.0", "twice": "1.10", "pytest": "9.0"}

    def version(name: str) -> str:
        from importlib.metadata import PackageNotFoundError

        if name not in installed:
            raise PackageNotFoundError(name)
        return installed[name]

    monkeypatch.setattr("importlib.metadata.version", version)
    assert floors.unmet(root) == [
        "sqlalchemy 2.3.0 is installed (pyproject: sqlalchemy[asyncio]>=2.0.30,<2.2)",
        "exact is not installed (pyproject: exact==2.0)",
        "anything is not installed (pyproject: anything)",
    ]


def test_this_environment_has_what_pyproject_declares() -> None:
    assert floors.unmet(CHECKOUT) == []


def test_minimum_python_needs_a_floor(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "x"
            requires-python = "~=3.11"
            """
        )
    )
    with pytest.raises(SystemExit, match="names no >= floor"):
        floors.minimum_python(tmp_path)


def test_a_copy_of_the_checkout_leaves_out_environments_and_caches(tmp_path: Path) -> None:
    source = tmp_path / "src"
    for name in ("backend/app/x.py", ".venv/bin/python", "var/dev.sqlite", ".git/HEAD",
                 "backend/__pycache__/x.pyc", "backend.egg-info/PKG-INFO", ".mypy_cache/x",
                 "tests/x.py", "dist/x.whl"):  # fmt: skip
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("")
    shutil.copytree(source, tmp_path / "copy", ignore=floors.NOT_COPIED)
    copied = sorted(
        p.relative_to(tmp_path / "copy").as_posix()
        for p in (tmp_path / "copy").rglob("*")
        if p.is_file()
    )
    assert copied == ["backend/app/x.py", "tests/x.py"]
