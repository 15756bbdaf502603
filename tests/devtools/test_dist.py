"""The release check: what it checks in the archives, and that --dry runs nothing."""

from __future__ import annotations

import io
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from devtools import dist
from tests.fixtures.databases import CHECKOUT


def test_the_shipped_files_are_the_whole_package_with_its_migrations() -> None:
    files = dist.shipped_files(CHECKOUT)
    assert "backend/app/migrations/script.py.mako" in files
    assert "backend/app/migrations/env.py" in files
    versions = sorted(p.name for p in (CHECKOUT / "backend/app/migrations/versions").glob("0*.py"))
    assert versions
    assert all(f"backend/app/migrations/versions/{name}" in files for name in versions)
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_a_file_missing_from_the_wheel_or_the_sdist_is_named(tmp_path: Path) -> None:
    expected = ["backend/__init__.py", "backend/app/migrations/script.py.mako"]
    wheel = tmp_path / "backend-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("backend/__init__.py", "")
    assert list(dist.missing_from_wheel(wheel, expected)) == [
        f"backend/app/migrations/script.py.mako is not in {wheel.name}"
    ]
    sdist = tmp_path / "backend-0.1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for name in ("backend-0.1.0/backend/__init__.py", "backend-0.1.0/pyproject.toml"):
            archive.addfile(tarfile.TarInfo(name), io.BytesIO(b""))
    assert list(dist.missing_from_sdist(sdist, expected)) == [
        f"backend/app/migrations/script.py.mako is not in {sdist.name}",
        f"README.md is not in {sdist.name}",
    ]


def test_the_installed_program_sees_nothing_of_this_machines_configuration(tmp_path: Path) -> None:
    env = dist.isolated_env(tmp_path / "venv", tmp_path / "home", tmp_path / "app.sqlite")
    assert env["HOME"] == str(tmp_path / "home")
    assert env["APP_DATABASE_URL"] == f"sqlite:///{tmp_path / 'app.sqlite'}"
    assert env["PATH"].startswith(str(tmp_path / "venv" / "bin"))
    assert [k for k in env if k.startswith("APP_")] == ["APP_DATABASE_URL"]  # APP_ACTOR is set
    assert "PYTHONPATH" not in env


def test_dry_prints_the_plan_and_runs_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert dist.main(["--dry", "--outdir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    work = Path(tempfile.gettempdir()) / "backend-dist-XXXXXX"
    assert f"$ {sys.executable} -m build --outdir {work}/dist {CHECKOUT}\n" in out
    assert f"$ {work}/venv/bin/backendctl db.upgrade\n" in out
    assert "backendctl db.revision --message x" in out
    assert not (tmp_path / "out").exists()
