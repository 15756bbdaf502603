"""The documented shell idiom, run by a real shell against the installed console script:

KEY=$(backendctl keys.create --account ci --quiet)
echo "$KEY" | backendctl keys.verify
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backend.app.core.keys import parse_key
from tests.fixtures import keys as keys_fixtures
from tests.support import Cli, Db

keys_pg_url = keys_fixtures.keys_pg_url
keys_db = keys_fixtures.keys_db

CHECKOUT = Path(__file__).resolve().parents[2]
SCRIPT = r"""
set -eu
KEY=$($CLI keys.create --account ci --quiet)
printf 'captured=%s\n' "$KEY"
echo "$KEY" | $CLI keys.verify
echo "${KEY}x" | $CLI keys.verify && exit 99 || printf 'tampered exit=%s\n' "$?"
"""


def console_script() -> str:
    """backendctl next to this interpreter (the venv's), else ``python -m backend.app.cli``."""
    script = Path(sys.executable).parent / "backendctl"
    if script.exists():
        return str(script)
    return f"{sys.executable} -m backend.app.cli"


@pytest.mark.slow
def test_a_key_captured_with_quiet_verifies_through_a_pipe(
    cli: Cli, keys_db: Db, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bash = shutil.which("bash")
    assert bash is not None, "this test needs bash"
    monkeypatch.setenv("APP_DATABASE_URL", keys_db.url)
    cli("accounts.create", "ci")  # set-up in-process: each process start costs ~1 s
    env = {name: value for name, value in os.environ.items() if not name.startswith("APP_")}
    env.update(
        APP_DATABASE_URL=keys_db.url,
        APP_ACTOR="test-runner",
        CLI=console_script(),
        PYTHONPATH=str(CHECKOUT),  # the checkout's code, even if another copy is installed
    )
    done = subprocess.run(
        [bash, "-c", SCRIPT],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = f"exit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    assert done.returncode == 0, report
    lines = done.stdout.splitlines()
    key = lines[0].removeprefix("captured=")
    assert parse_key(key).value == key, report  # $(...) captured the key and nothing else
    assert lines[1].startswith("valid: key 1 (bk_"), report
    assert "of account ci" in lines[1], report
    assert lines[2] == "tampered exit=2", report
    assert "Traceback" not in done.stderr
    assert key not in done.stderr
    assert keys_db.scalar("SELECT count(*) FROM api_keys") == 1
