"""`shell`: Python on the service layer, run at once or at a prompt, as a user types it."""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.databases import CHECKOUT
from tests.fixtures.shells import ENGINES, SECRET_KEY, backendctl, report
from tests.support import Cli, Db

pytestmark = pytest.mark.slow


@pytest.fixture(params=ENGINES)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- shell: code given at once --------------------------------------------------------------------


def test_shell_command_awaits_services_at_top_level(cli: Cli, cli_db: Db, project: Path) -> None:
    cli("users.seed-admin")
    code = (
        'user = await users.find_user(ctx, email=Email.parse("Admin@Example.com"))\n'
        "print(user.email, user.role, settings.database_url == ctx.settings.database_url)\n"
        'made = await accounts.create_account(ctx, name=AccountName.parse("from-shell"))\n'
        "print(made.name, isinstance(made, ServiceAccount), services.users is users)"
    )
    done = backendctl(project, cli_db.url, "shell", "--command", code)
    assert done.returncode == 0, report(done)
    assert done.stdout == "admin@example.com admin True\nfrom-shell True True\n"
    assert done.stderr.startswith("profile dev · database ")
    # The service committed and audited under the run's actor, as a task would have.
    assert cli_db.rows(
        "SELECT actor, action, target FROM audit_events WHERE target = 'from-shell'"
    ) == [("test-runner", "account.create", "from-shell")]


def test_shell_reads_code_from_stdin_when_it_is_not_a_terminal(
    cli: Cli, cli_db: Db, project: Path
) -> None:
    cli("accounts.create", "ci")
    code = (
        "async with accounts.list_accounts(ctx) as rows:\n"
        "    print([r['name'] async for r in rows])\n"
    )
    done = backendctl(project, cli_db.url, "shell", input=code)
    assert done.returncode == 0, report(done)
    assert done.stdout == "['ci']\n"


@pytest.mark.parametrize(
    ("code", "status", "stderr_tail"),
    [
        ("raise SystemExit(3)", 3, None),
        ("import sys; sys.exit()", 0, None),
        ("import sys; sys.exit('bye now')", 1, "bye now"),
        ("await asyncio.sleep(0); raise SystemExit(4)", 4, None),
        ("x = 1\n1 / 0", 1, "ZeroDivisionError: division by zero"),
        (
            "await users.find_user(ctx, email=Email.parse('x@'))",
            1,
            "Input: invalid email 'x@': expected name@domain",
        ),
        ("1 +", 1, "SyntaxError: invalid syntax"),
    ],
)
def test_shell_exits_with_the_codes_status(
    cli_db: Db, project: Path, code: str, status: int, stderr_tail: str | None
) -> None:
    done = backendctl(project, cli_db.url, "shell", "--command", code)
    assert done.returncode == status, report(done)
    if stderr_tail is not None:
        assert done.stderr.rstrip().splitlines()[-1].endswith(stderr_tail), report(done)
    if status == 1 and "Error" in (stderr_tail or ""):
        assert 'File "<command>", line ' in done.stderr, report(done)
        # Python's own traceback, from the code down: none of the CLI's frames, no error line.
        assert "backend/app/cli/" not in done.stderr, report(done)
        assert "error: " not in done.stderr


@pytest.mark.parametrize("dry", [("--dry",), ()], ids=["--dry", "APP_DRY_RUN"])
def test_shell_refuses_a_dry_run_and_runs_nothing(
    cli_db: Db, project: Path, tmp_path: Path, dry: tuple[str, ...]
) -> None:
    marker = tmp_path / "ran"
    env = {} if dry else {"APP_DRY_RUN": "1"}
    code = f"open({str(marker)!r}, 'w').close()"
    done = backendctl(project, cli_db.url, *dry, "shell", "--command", code, env=env)
    assert done.returncode == 2, report(done)
    assert done.stderr.splitlines()[-1].startswith("error: this task cannot be dry-run (")
    assert not marker.exists()


# -- shell: the prompt ----------------------------------------------------------------------------


class Terminal:
    """A process on a pseudo-terminal, typed at like a person would."""

    def __init__(self, argv: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        import pty

        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: never returns
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        self.seen = ""

    def read_until(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} never came; the terminal showed:\n{self.seen}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the process ended before {text!r}:\n{self.seen}")
                self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")
        found, _, self.seen = self.seen.partition(text)
        return found + text

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def interrupt(self) -> None:
        os.kill(self.pid, signal.SIGINT)

    def status(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            try:  # keep draining, or a child writing to a full terminal would block
                os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("the shell did not exit")


@pytest.fixture
def prompt(cli: Cli, cli_db: Db, project: Path) -> Iterator[Terminal]:
    cli("users.seed-admin")
    env = {name: value for name, value in os.environ.items() if not name.startswith("APP_")}
    env.update(
        APP_DATABASE_URL=cli_db.url,
        APP_ACTOR="test-runner",
        PYTHONPATH=str(CHECKOUT),
        TERM="dumb",
    )
    terminal = Terminal([sys.executable, "-m", "backend.app.cli", "shell"], cwd=project, env=env)
    yield terminal
    try:
        os.kill(terminal.pid, signal.SIGKILL)
        os.waitpid(terminal.pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def test_the_prompt_names_the_profile_and_database_and_awaits_at_top_level(
    prompt: Terminal, cli_db: Db
) -> None:
    banner = prompt.read_until(">>> ")
    assert "backend shell · profile dev · database " in banner
    assert "PROTECTED" not in banner
    assert "names: settings, ctx, uow" in banner
    prompt.type('admin = await users.find_user(ctx, email=Email.parse("admin@example.com"))')
    prompt.read_until(">>> ")
    prompt.type("admin.email, admin.role")
    assert "('admin@example.com', 'admin')" in prompt.read_until(">>> ")
    prompt.type("for n in range(2):")
    prompt.read_until("... ")
    prompt.type("    print('line', n)")
    prompt.read_until("... ")
    prompt.type("")
    assert "line 0\nline 1\n" in prompt.read_until(">>> ")
    prompt.type("1 / 0")
    assert "ZeroDivisionError: division by zero" in prompt.read_until(">>> ")
    # Ctrl-C cancels what is awaited, and the prompt (and its event loop) carries on.
    prompt.type("await asyncio.sleep(60)")
    time.sleep(0.5)
    prompt.interrupt()
    assert "KeyboardInterrupt" in prompt.read_until(">>> ", timeout=10)
    prompt.type("await asyncio.sleep(0); (await users.find_user(ctx, email=admin.email)).email")
    assert "'admin@example.com'" in prompt.read_until(">>> ")
    prompt.type("exit(4)")
    assert prompt.status() == 4


def test_the_prompt_says_protected_under_a_protected_profile(
    cli: Cli, cli_db: Db, project: Path
) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("APP_")}
    env.update(
        APP_DATABASE_URL=cli_db.url,
        APP_SECRET_KEY=SECRET_KEY,
        PYTHONPATH=str(CHECKOUT),
        TERM="dumb",
    )
    argv = [sys.executable, "-m", "backend.app.cli", "--profile", "prod", "shell"]
    terminal = Terminal(argv, cwd=project, env=env)
    banner = terminal.read_until(">>> ")
    assert "profile prod (protected) · database " in banner
    assert "PROTECTED: profile prod is protected" in banner
    os.write(terminal.fd, b"\x04")  # Ctrl-D
    assert terminal.status() == 0
