"""`inv` itself (invoke's own Program loading a tasks.py), not only the console script."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from invoke.program import Program

CHECKOUT = Path(__file__).resolve().parents[2]


def run_inv(folder: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        Program(binary="inv").run(["inv", "--search-root", str(folder), *argv], exit=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def checkout_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "checkout"
    folder.mkdir()
    (folder / "tasks.py").write_text((CHECKOUT / "tasks.py").read_text())
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize(
    "app_section",
    ["app: 5\n", "app:\n  profiles: [dev]\n", "app:\n  profiles:\n    dev: 5\n"],
)
def test_inv_reports_a_misshaped_app_section_in_one_line(
    checkout_copy: Path, capsys: pytest.CaptureFixture[str], app_section: str
) -> None:
    (checkout_copy / "invoke.yaml").write_text(app_section)
    code, out, err = run_inv(checkout_copy, capsys, "db.current")
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error: ")] == err.splitlines()


def test_inv_without_an_app_section_uses_the_shipped_profiles_which_name_no_database(
    checkout_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (checkout_copy / "invoke.yaml").write_text("tasks:\n  dedupe: false\n")
    code, out, err = run_inv(checkout_copy, capsys, "profile", "test", "db.current", "--json")
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        "error: no database is configured: set APP_DATABASE_URL, or database_url in the profile"
    )
    monkeypatch.setenv("APP_DATABASE_URL", "sqlite:///var/elsewhere.sqlite")
    code, out, err = run_inv(checkout_copy, capsys, "profile", "test", "db.current", "--json")
    assert code == 0, err
    assert '"exists":false' in out
    assert not (checkout_copy / "var").exists()  # db.current never creates the database


def test_inv_prints_a_tasks_help_when_asked_after_it(
    checkout_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(CHECKOUT / "invoke.yaml", checkout_copy / "invoke.yaml")
    for argv in (("users.show", "--help"), ("keys.rotate", "-h")):
        code, out, err = run_inv(checkout_copy, capsys, *argv)
        assert (code, err) == (0, "")
        assert out.startswith(f"Usage: inv [--core-opts] {argv[0]}")


def test_inv_names_the_closest_task_or_flag_for_a_typo(
    checkout_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(CHECKOUT / "invoke.yaml", checkout_copy / "invoke.yaml")
    code, out, err = run_inv(checkout_copy, capsys, "users.lst")
    assert (code, out) == (2, "")
    assert err == "error: unknown task 'users.lst' (did you mean users.list?) (see --list)\n"
    code, out, err = run_inv(checkout_copy, capsys, "users.list", "--serch", "x")
    assert code == 2
    assert "(did you mean --search?)" in err
    code, out, err = run_inv(checkout_copy, capsys, "--help", "users.lst")
    assert code == 2
    assert "did you mean users.list?" in err
