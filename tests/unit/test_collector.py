"""The garbage collector while a command loads: paused once a process, resumed with what was
loaded frozen, and never left off, whatever the task does. Each case runs in its own interpreter,
as the collector's state is the whole process's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.databases import CHECKOUT


def run_python(code: str, tmp_path: Path | None = None, **env: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path or CHECKOUT,
        env={"PATH": "/usr/bin:/bin", "APP_ROOT": str(tmp_path or CHECKOUT), **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_pause_turns_the_collector_off_and_resume_freezes_and_turns_it_on() -> None:
    code = (
        "import gc\n"
        "from backend.app.core import collector\n"
        "collector.pause(); print(gc.isenabled(), collector.paused(), gc.get_freeze_count() > 0)\n"
        "collector.resume(); print(gc.isenabled(), collector.paused(), gc.get_freeze_count() > 0)\n"
        "collector.resume(); print(gc.isenabled())\n"
    )
    assert run_python(code) == ["False", "True", "False", "True", "False", "True", "True"]


@pytest.mark.parametrize(
    ("steps", "enabled"),
    [
        pytest.param(
            "collector.pause(); collector.resume(); collector.pause()",
            "True",
            id="once-a-process-so-a-chains-later-tasks-run-with-it-on",
        ),
        pytest.param(
            "gc.disable(); collector.pause(); collector.resume()",
            "False",
            id="a-collector-someone-else-turned-off-stays-off",
        ),
    ],
)
def test_the_collector_is_paused_only_when_it_is_the_first_to(steps: str, enabled: str) -> None:
    code = f"import gc\nfrom backend.app.core import collector\n{steps}\nprint(gc.isenabled())\n"
    assert run_python(code) == [enabled]


def test_the_work_of_a_task_runs_with_the_collector_on(tmp_path: Path) -> None:
    """shell makes its Database before running the code it is given: loading is over."""
    code = (
        "import sys\n"
        "from backend.app.cli.__main__ import main\n"
        "sys.argv = ['backendctl', 'shell', '--command', "
        "'import gc; print(gc.isenabled(), gc.get_freeze_count() > 0)']\n"
        "main()\n"
    )
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.sqlite'}"
    assert run_python(code, tmp_path, APP_DATABASE_URL=url) == ["True", "True"]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["config.show"], id="a-task-without-a-database"),
        pytest.param(["users.list", "--limit", "x"], id="a-task-that-fails-before-one"),
    ],
)
def test_the_collector_is_on_again_when_a_task_ends(argv: list[str], tmp_path: Path) -> None:
    code = (
        "import gc, sys\n"
        "from backend.app.cli.__main__ import program\n"
        f"try: program().run(['backendctl', *{argv!r}], exit=True)\n"
        "except SystemExit: pass\n"
        "print('collector', gc.isenabled())\n"
    )
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.sqlite'}"
    assert run_python(code, tmp_path, APP_DATABASE_URL=url)[-2:] == ["collector", "True"]
