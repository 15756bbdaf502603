"""Two things invoke's command line gets wrong for us, put right for `inv` and `backendctl`:

- ``TASK --help`` (or ``-h``) after a task, right after it or among its arguments, prints that
  task's help, even for a task that takes positional arguments (invoke would take ``--help`` as
  an argument's value);
- a mistyped task or flag is one ``error:`` line naming the closest task or flag, exit 2
  (invoke says ``No idea what 'users.lst' is!`` and exits 1);
- the parser gets the contexts of the tasks the command line names, not of every task: invoke
  builds and deep-copies a context per task (twice) on every run, which was a tenth of the
  start-up that `inv users.create` adds to its imports (README, Performance, P3).

``backendctl`` gets them by overriding its Program's methods; for ``inv``, whose Program is
invoke's own, ``tasks.py`` calls :func:`install` before invoke parses the tasks, which wraps
the same three methods of invoke's Program class. ``parse_tasks`` and ``parse_cleanup`` are
public methods of ``invoke.Program``, ``_make_parser`` is not; ``tests/unit/test_parsing.py``
and ``tests/unit/test_dependency_internals.py`` fail loudly if invoke changes how they are called.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from invoke.exceptions import Exit, ParseError

INVALID_INPUT = 2
HELP_FLAGS = ("--help", "-h")


def help_target(argv: Sequence[str], task_names: Sequence[str]) -> str | None:
    """The task whose help was asked for: ``TASK --help``, or ``--help`` anywhere among that
    task's arguments (``users.set-role bob@example.com --help``), which invoke would otherwise
    take as the value of the argument still missing."""
    current = None
    for token in argv:
        if token == "--":  # noqa: S105 (the end of options, not a password)
            return None
        if token in task_names:
            current = token
        elif token in HELP_FLAGS and current is not None:
            return current
    return None


def with_optional_positionals(argv: Sequence[str], collection: Any) -> list[str]:
    """``keys.revoke 7`` for a task whose first argument may be left out (``keys.revoke --user
    E``): invoke has no optional positional argument, so the value becomes its flag's."""
    rewritten: list[str] = []
    names = set(task_names(collection))
    for index, token in enumerate(argv):
        previous = argv[index - 1] if index else None
        if previous in names and not token.startswith("-") and token not in names:
            flag = getattr(collection[previous], "optional_positional", None)
            if flag:
                rewritten.append(f"--{flag.replace('_', '-')}")
        rewritten.append(token)
    return rewritten


def task_names(collection: Any) -> list[str]:
    names: list[str] = []
    for name, aliases in collection.task_names.items():
        names += [name, *aliases]
    return names


def explain(error: ParseError, names: Sequence[str]) -> Exit:
    """invoke's parse error as our one line, with the closest task or flag when we can tell."""
    message = str(error)
    unknown = re.fullmatch(r"No idea what '(.*)' is!", message)
    if unknown is not None:
        token = unknown.group(1)
        context = error.context
        if token.startswith("-") and context is not None and getattr(context, "name", None):
            flags = [f for f in context.flags if f.startswith("--")]
            line = f"unknown flag {token!r} for {context.name}{_closest(token, flags)}"
            line += f" (see --help {context.name})"
        elif token.startswith("-"):
            line = f"unknown option {token!r} (see --help)"
        else:
            line = f"unknown task {token!r}{_closest(token, names)} (see --list)"
        return Exit(f"error: {line}", code=INVALID_INPUT)
    no_value = re.fullmatch(
        r"Flag <Argument: ([\w-]+)[^>]*> needed value and was not given one!", message
    )
    if no_value is not None:
        flag = "--" + no_value.group(1).replace("_", "-")
        context = error.context
        task = getattr(context, "name", None) if context is not None else None
        see = f"see --help {task}" if task else "see --help"
        return Exit(f"error: {flag} needs a value ({see})", code=INVALID_INPUT)
    missing = re.fullmatch(r"'(.*)' did not receive required positional arguments: (.*)", message)
    if missing is not None:
        task, args = missing.groups()
        wanted = args.replace("'", "").upper()
        return Exit(f"error: {task} needs {wanted} (see {task} --help)", code=INVALID_INPUT)
    return Exit(f"error: {message}", code=INVALID_INPUT)


def _closest(token: str, candidates: Sequence[str]) -> str:
    found = difflib.get_close_matches(token, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {found[0]}?)" if found else ""


def parse_tasks(program: Any, original: Callable[[Any], None]) -> None:
    """Program.parse_tasks, with `TASK --help` and readable parse errors."""
    names = task_names(program.collection)
    target = help_target(program.core.unparsed, names)
    if target is not None:
        program.parser = program._make_parser()
        program.args.help.value = target
        program.tasks = []
        return
    program.core.unparsed = with_optional_positionals(program.core.unparsed, program.collection)
    try:
        original(program)
    except ParseError as error:
        raise explain(error, names) from None


def make_parser(program: Any, original: Callable[[Any], Any]) -> Any:
    """Program._make_parser, with a context only for each task named on the command line (or
    by ``--help TASK``). A token that names no task is one in either parser, so parsing is the
    same; shell completion, which lists every task, gets invoke's whole parser."""
    from invoke.parser.context import ParserContext
    from invoke.parser.parser import Parser

    core = getattr(program, "core", None)
    if core is None or program.args.complete.value:
        return original(program)
    named = set(core.unparsed)
    if isinstance(program.args.help.value, str):
        named.add(program.args.help.value)
    ignore_unknown_help = program.config.tasks.ignore_unknown_help
    contexts = [
        ParserContext(
            name=primary,
            aliases=aliases,
            args=program.collection[primary].get_arguments(ignore_unknown_help=ignore_unknown_help),
        )
        for primary, aliases in program.collection.task_names.items()
        if primary in named or named.intersection(aliases)
    ]
    return Parser(initial=program.initial_context, contexts=contexts)


def parse_cleanup(program: Any, original: Callable[[Any], None]) -> None:
    """Program.parse_cleanup (``--help UNKNOWN`` is checked there), with readable errors. It
    prints help, ``--list`` and completions: a reader that left early (``| head``) is no error."""
    try:
        try:
            original(program)
        finally:
            sys.stdout.flush()  # here, not at the interpreter's exit ("Exception ignored", 120)
    except ParseError as error:
        raise explain(error, task_names(program.collection)) from None
    except BrokenPipeError:
        from backend.app.cli._boundary import quiet_exit

        raise quiet_exit() from None


def install() -> None:
    """Give invoke's own Program (the `inv` command) the same behaviour; idempotent."""
    from invoke.program import Program

    wrappers = (
        ("parse_tasks", parse_tasks),
        ("parse_cleanup", parse_cleanup),
        ("_make_parser", make_parser),
    )
    for name, wrapper in wrappers:
        method = getattr(Program, name)
        if getattr(method, "_backend_wrapped", False):
            continue

        @functools.wraps(method)
        def wrapped(self: Any, _wrapper: Any = wrapper, _method: Any = method) -> Any:
            return _wrapper(self, _method)

        wrapped._backend_wrapped = True  # type: ignore[attr-defined]
        setattr(Program, name, wrapped)
