"""The plain `alembic` CLI, `backendctl`, `python -m backend.app.cli` and `inv`, as real processes,
in a copy of the checkout: they pick the same database and agree about it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.app.core.config import load_app_config
from backend.app.core.profiles import package_defaults
from backend.app.services import schema
from tests.alembic_project import packaged_head
from tests.fixtures.databases import CHECKOUT
from tests.fixtures.services import on_app, options_of
from tests.support import Db

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
HEAD = packaged_head()
PASSWORD = "hunter2-Sup3rS3cret"


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> object:
        return json.loads(self.stdout)


@dataclass
class Checkout:
    """A copy of the checkout's operator files; commands run in it as separate processes."""

    root: Path
    env: dict[str, str]

    def run(self, program: str, *argv: str, expect: int | None = 0, **env: str) -> Ran:
        (ran,) = self.together([program, *argv], expect=expect, **env)
        return ran

    def together(self, *commands: list[str], expect: int | None = 0, **env: str) -> list[Ran]:
        """Run read-only commands side by side (each process pays ~1s of imports)."""
        running = [
            subprocess.Popen(
                [*self._program(command[0]), *command[1:]],
                cwd=self.root,
                env={**self.env, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for command in commands
        ]
        results = []
        for command, process in zip(commands, running, strict=True):
            stdout, stderr = process.communicate(timeout=60)
            ran = Ran(process.returncode, stdout, stderr)
            if expect is not None:
                assert ran.code == expect, f"{' '.join(command)}: {ran}"
            results.append(ran)
        return results

    def _program(self, name: str) -> list[str]:
        if name == "-m":
            return [sys.executable, "-m", "backend.app.cli"]
        if name == "alembic":
            return [str(BIN / "alembic"), "-c", "alembic.ini"]
        return [str(BIN / name)]


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    root = tmp_path / "checkout"
    root.mkdir()
    for name in ("invoke.yaml", "alembic.ini", "tasks.py"):
        shutil.copyfile(CHECKOUT / name, root / name)
    # conftest already removed every APP_*/INVOKE_* variable and pointed HOME at a temp folder.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)  # the package must come from the installed environment
    return Checkout(root, env)


def test_alembic_current_and_check_agree_with_db_current_and_db_check(checkout: Checkout) -> None:
    checkout.run("alembic", "upgrade", "head")
    assert (checkout.root / "var" / "dev.sqlite").is_file()
    current, tasks_current, check, tasks_check = checkout.together(
        ["alembic", "current"],
        ["backendctl", "db.current", "--json"],
        ["alembic", "check"],
        ["backendctl", "db.check"],
    )
    assert current.stdout.split() == [HEAD, "(head)"]
    assert tasks_current.json == {
        "revisions": [HEAD],
        "heads": [HEAD],
        "at_head": True,
        "exists": True,
        "stamp": {"profile": "dev", "protected": False},  # the alembic CLI stamps it too
    }
    assert "No new upgrade operations detected" in check.stdout
    assert tasks_check.stdout.startswith("ok: ")

    Db("sqlite", f"sqlite+aiosqlite:///{checkout.root / 'var' / 'dev.sqlite'}").rows(
        "ALTER TABLE users ADD COLUMN nickname VARCHAR(50)"
    )
    check, tasks_check = checkout.together(
        ["alembic", "check"], ["backendctl", "db.check"], expect=None
    )
    assert check.code != 0
    assert "users.nickname" in check.stderr
    assert tasks_check.code == 7
    assert "remove_column users.nickname" in tasks_check.stderr


def test_alembic_follows_app_profile_to_the_database_the_tasks_use(checkout: Checkout) -> None:
    checkout.run("alembic", "upgrade", "head", APP_PROFILE="test")
    assert not (checkout.root / "var" / "dev.sqlite").exists()
    test_db = Db("sqlite", f"sqlite+aiosqlite:///{checkout.root / 'var' / 'test.sqlite'}")
    assert dict(test_db.rows("SELECT key, value FROM app_meta"))["profile"] == "test"


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_alembic_and_the_tasks_agree_on_postgresql(checkout: Checkout, empty_db: Db) -> None:
    url = empty_db.url
    checkout.run("alembic", "upgrade", "head", APP_DATABASE_URL=url)
    alembic, tasks = checkout.together(
        ["alembic", "current"], ["backendctl", "db.current", "--json"], APP_DATABASE_URL=url
    )
    assert alembic.stdout.split() == [HEAD, "(head)"]
    assert tasks.json == {
        "revisions": [HEAD],
        "heads": [HEAD],
        "at_head": True,
        "exists": True,
        "stamp": {"profile": "dev", "protected": False},
    }


def test_alembic_masks_the_password_of_an_unreachable_database(checkout: Checkout) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/x"
    ran = checkout.run("alembic", "current", expect=None, APP_DATABASE_URL=url)
    assert ran.code != 0
    assert "postgres:***@127.0.0.1:1/x" in ran.stderr
    assert PASSWORD not in ran.stdout + ran.stderr


def test_the_module_works_outside_any_checkout_with_app_database_url(tmp_path: Path) -> None:
    folder = tmp_path / "anywhere"
    folder.mkdir()
    outside = Checkout(folder, {**os.environ})
    url = f"sqlite:///{tmp_path / 'data' / 'app.sqlite'}"
    upgraded = outside.run("-m", "db.upgrade", "--json", APP_DATABASE_URL=url).json
    assert upgraded == {
        "status": "upgraded",
        "from": [],
        "to": [HEAD],
        "at_head": True,
        "profile": "dev",
    }
    db = Db("sqlite", url.replace("sqlite:", "sqlite+aiosqlite:"))
    assert db.scalar("SELECT version_num FROM alembic_version") == HEAD
    assert sorted(p.name for p in folder.iterdir()) == []  # nothing written into the cwd


def test_debug_flag_shows_a_traceback_without_the_password(checkout: Checkout) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/x"
    ran = checkout.run("backendctl", "-d", "db.check", expect=6, APP_DATABASE_URL=url)
    assert "Traceback (most recent call last)" in ran.stderr
    assert "error: connection refused" in ran.stderr
    assert PASSWORD not in ran.stdout + ran.stderr


def test_inv_runs_a_repeated_task_of_a_chain_under_each_profile(
    checkout: Checkout, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`inv` itself (tasks.py + invoke.yaml), in-process: invoke's dedupe must not drop a repeat."""
    from invoke.program import Program

    monkeypatch.chdir(checkout.root)
    Program(binary_names=["inv"]).run(
        ["inv", "profile", "dev", "db.upgrade", "profile", "test", "db.upgrade"], exit=False
    )
    assert capsys.readouterr().out.count("upgraded: (empty) ->") == 2
    assert (checkout.root / "var" / "dev.sqlite").is_file()
    assert (checkout.root / "var" / "test.sqlite").is_file()


def test_alembic_downgrade_refuses_a_prod_stamped_database_like_db_downgrade(
    checkout: Checkout,
) -> None:
    url = f"sqlite+aiosqlite:///{checkout.root / 'var' / 'prod.sqlite'}"
    prod = load_app_config(
        app=package_defaults(), root=checkout.root, selected="prod", overrides={"database_url": url}
    )
    on_app(prod, lambda ctx, cfg: schema.upgrade(ctx, cfg, options_of(prod)))
    db = Db("sqlite", url)
    before = db.dump()

    refused = checkout.run("alembic", "downgrade", "base", expect=None, APP_DATABASE_URL=url)
    assert refused.code != 0
    assert "protected profile 'prod'" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert db.dump() == before

    checkout.run("alembic", "downgrade", "base", APP_DATABASE_URL=url, APP_ALLOW_DESTRUCTIVE="1")
    assert db.scalar("SELECT count(*) FROM alembic_version") == 0


def test_alembic_without_a_database_url_fails_in_one_line(checkout: Checkout) -> None:
    ran = checkout.run("alembic", "current", expect=None, APP_PROFILE="prod")
    assert ran.code != 0
    assert "Traceback" not in ran.stderr
    assert "FAILED: no database is configured: set APP_DATABASE_URL" in ran.stdout
