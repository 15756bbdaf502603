"""The `shell` task's interactive prompt: input compiled with top-level await and run on the
run's event loop, line editing and completion, Ctrl-C that cancels the running await."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio
    from types import CodeType, TracebackType

CONSOLE_FILE = "<console>"


def exit_status(stop: SystemExit) -> int:
    """Python's own reading of SystemExit's code: None is 0, an int is itself, anything else
    is printed and is 1."""
    code = stop.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr, flush=True)
    return 1


def print_exception(error: BaseException, filename: str) -> None:
    """The traceback as Python prints it, from the user's code down (none of this module)."""
    import traceback

    tb: TracebackType | None = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    if tb is None and not isinstance(error, SyntaxError):
        tb = error.__traceback__  # raised before any of the user's code ran: show where
    sys.stdout.flush()
    traceback.print_exception(type(error), error, tb, file=sys.stderr)
    sys.stderr.flush()


async def interact(namespace: dict[str, Any], *, banner: str) -> int:
    """Read, compile, run, print, until end of input or SystemExit; the exit status."""
    import ast
    import asyncio
    import code

    console = code.InteractiveConsole(namespace, filename=CONSOLE_FILE)
    console.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    _line_editing(namespace)
    console.write(banner + "\n")
    task = asyncio.current_task()
    assert task is not None
    interrupts = _Interrupts(task)
    lines: list[str] = []
    with interrupts.handled():
        while True:
            prompt = getattr(sys, "ps2", "... ") if lines else getattr(sys, "ps1", ">>> ")
            try:
                line = console.raw_input(str(prompt))
            except EOFError:
                console.write("\n")
                return 0
            except KeyboardInterrupt:
                console.write("\nKeyboardInterrupt\n")
                lines.clear()
                continue
            lines.append(line)
            try:
                compiled = console.compile("\n".join(lines), CONSOLE_FILE, "single")
            except (OverflowError, SyntaxError, ValueError) as error:
                lines.clear()
                print_exception(error, CONSOLE_FILE)
                continue
            if compiled is None:  # an unfinished statement: read on
                continue
            lines.clear()
            try:
                await interrupts.run(compiled, namespace)
            except SystemExit as stop:
                return exit_status(stop)
            except KeyboardInterrupt:
                await interrupts.settle()
                console.write("KeyboardInterrupt\n")
            except Exception as error:
                print_exception(error, CONSOLE_FILE)


def _line_editing(namespace: dict[str, Any]) -> None:
    """Editing, in-memory history and Tab completion over the namespace, where readline exists.
    No history file: what is typed here may hold production secrets."""
    try:
        import readline
        import rlcompleter
    except ImportError:
        return
    readline.set_completer(rlcompleter.Completer(namespace).complete)
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")


class _Interrupts:
    """Ctrl-C at the prompt: a fresh line. While code runs without awaiting: KeyboardInterrupt
    in it, as in Python's prompt. While it awaits: its await is cancelled (the loop must not
    see KeyboardInterrupt), and a second Ctrl-C raises in whatever runs then."""

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.awaiting = False
        self.cancelled = False

    @contextmanager
    def handled(self) -> Iterator[None]:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            yield
            return
        # asyncio.Runner's own handler would cancel the whole run, ending the prompt.
        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._on_interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)

    def _on_interrupt(self, _signum: int, _frame: Any) -> None:
        if self.awaiting and not self.cancelled:
            self.cancelled = True
            self.task.cancel()
            self.task.get_loop().call_soon_threadsafe(lambda: None)  # wake the loop's select
            return
        raise KeyboardInterrupt

    async def run(self, compiled: CodeType, namespace: dict[str, Any]) -> None:
        """Run one input; awaited on this task (not a task of its own: SystemExit raised in a
        task would leave the event loop instead of reaching the prompt)."""
        import asyncio
        import inspect
        import types

        result = types.FunctionType(compiled, namespace)()
        if not inspect.iscoroutine(result):
            return
        self.awaiting = True
        try:
            await result
        except asyncio.CancelledError:
            if not self.cancelled:
                raise
            raise KeyboardInterrupt from None
        finally:
            self.awaiting = False

    async def settle(self) -> None:
        """Take back a cancellation asked for by Ctrl-C, whether or not it was delivered yet
        (code busy without awaiting never met it), so the prompt's own awaits are not hit."""
        import asyncio

        if not self.cancelled:
            return
        self.cancelled = False
        if self.task.cancelling():
            with suppress(asyncio.CancelledError):
                await asyncio.sleep(0)
            while self.task.cancelling():
                self.task.uncancel()
