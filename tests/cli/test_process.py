"""The console script as a separate process: what only a real process shows (pipes, encodings,
the exit status Python itself sets)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def backendctl(
    tmp_path: Path, *argv: str, extra_env: dict[str, str] | None = None, shell_tail: str = ""
) -> subprocess.CompletedProcess[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("APP_")},
        "APP_DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
        **(extra_env or {}),
    }
    command = " ".join([sys.executable, "-m", "backend.app.cli", *argv]) + shell_tail
    return subprocess.run(
        command,
        shell=True,
        executable="/bin/bash",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


# A list streams its rows inside its unit of work: the closed pipe must not read as a database
# that went away (it was exit 6, "cannot reach the database: Broken pipe").
@pytest.mark.parametrize(
    "argv",
    [
        "config.paths",
        "users.list",
        "users.list --json",
        "audit.list",
        "--list",
        "--help users.create",
    ],
)
def test_a_reader_that_closes_the_pipe_is_not_an_error(tmp_path: Path, argv: str) -> None:
    backendctl(tmp_path, "db.upgrade")
    ran = backendctl(
        tmp_path,
        argv,
        # `true` exits before the program writes anything: every write meets a closed pipe.
        shell_tail=" | true; exit ${PIPESTATUS[0]}",
    )
    assert ran.returncode == 0, ran.stderr
    assert b"error" not in ran.stderr
    assert b"Exception ignored" not in ran.stderr


# `inv` is invoke's own Program: its help, --list and completions are printed in parse_cleanup,
# which the project wraps (cli/_parsing.py). It was a BrokenPipeError traceback, exit 1.
@pytest.mark.parametrize(
    "argv",
    [
        "--help users.create",
        "users.create --help",
        "--complete -- inv users.cr",
        "--complete -- inv users.create --e",
        "--list",
    ],
)
def test_inv_stops_quietly_for_a_reader_that_closes_the_pipe(argv: str) -> None:
    from tests.fixtures.databases import CHECKOUT

    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "PYTHONUNBUFFERED"))}
    command = f"{sys.executable} -m invoke --search-root {CHECKOUT} {argv}"
    ran = subprocess.run(
        command + " | true; exit ${PIPESTATUS[0]}",
        shell=True,
        executable="/bin/bash",
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == b""


ASCII_ONLY = [
    pytest.param({"PYTHONIOENCODING": "ascii"}, id="ascii-strict"),
    # The C locale without UTF-8 mode: Python's stdio is ASCII with surrogateescape.
    pytest.param(
        {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
        id="c-locale",
    ),
]


@pytest.mark.parametrize("locale_env", ASCII_ONLY)
def test_an_ascii_only_stdout_never_breaks_the_output(
    tmp_path: Path, locale_env: dict[str, str]
) -> None:
    env = {**locale_env, "TEST_PW": "correct-horse-battery"}
    backendctl(tmp_path, "db.upgrade")
    created = backendctl(
        tmp_path,
        "users.create",
        "--email",
        "z@example.com",
        "--name",
        "Zoë",
        "--password-env",
        "TEST_PW",
        # Created in a UTF-8 locale: under the C locale the name on argv would not even decode.
        extra_env={"TEST_PW": env["TEST_PW"]},
    )
    assert created.returncode == 0, created.stderr
    listed = backendctl(tmp_path, "users.list", extra_env=env)
    assert listed.returncode == 0, listed.stderr
    assert b"Zo\\xeb" in listed.stdout
    as_json = backendctl(tmp_path, "users.list", "--json", extra_env=env)
    assert as_json.returncode == 0, as_json.stderr
    assert b"Zo\\u00eb" in as_json.stdout


def test_the_version_names_the_backend_and_invoke(tmp_path: Path) -> None:
    ran = backendctl(tmp_path, "--version")
    assert ran.returncode == 0
    assert ran.stdout.decode().startswith("backendctl ")
    assert "(invoke " in ran.stdout.decode()
