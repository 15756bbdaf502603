"""The command line's parser sees only the tasks the command line names, and parses exactly as
invoke's parser over every task would; the project's tasks are copied shallowly when invoke
loads ``tasks.py``'s namespace. Both are start-up savings (README, Performance, P3)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from invoke.collection import Collection
from invoke.exceptions import ParseError
from invoke.program import Program

from backend.app.cli import _parsing, build_namespace
from backend.app.cli._runtime import AppTask
from backend.app.cli.users import create

# invoke's own method, also once tasks.py (loaded by another test) has wrapped it.
invoke_make_parser = getattr(Program._make_parser, "__wrapped__", Program._make_parser)


def program_for(argv: list[str]) -> Program:
    """A Program as `inv` has it when it parses the tasks of ``argv``."""
    program = Program(namespace=build_namespace())
    program.create_config()
    program.parse_core(["inv", *argv])
    program.parse_collection()
    return program


def parsed(result: Any) -> list[tuple[str | None, dict[str, Any]]]:
    return [(context.name, {k: a.value for k, a in context.args.items()}) for context in result]


def both_parsers(argv: list[str]) -> tuple[Any, Any, int]:
    program = program_for(argv)
    whole = invoke_make_parser(program)
    named = _parsing.make_parser(program, invoke_make_parser)
    return whole, named, len(named.contexts)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["users.create", "--email", "a@example.com"], id="one-task"),
        pytest.param(["db.upgrade", "users.seed-admin", "--json"], id="a-chain"),
        pytest.param(["users.create", "--name", "users.list"], id="a-value-that-names-a-task"),
        pytest.param(["users.create", "--email", "a@example.com", "users.list"], id="then-a-task"),
        pytest.param(["keys.revoke", "--ids", "7", "--yes"], id="list-flag"),
    ],
)
def test_the_parser_of_the_named_tasks_parses_as_invokes_whole_parser(argv: list[str]) -> None:
    whole, named, count = both_parsers(argv)
    assert 0 < count < len(whole.contexts)
    assert parsed(named.parse_argv(argv)) == parsed(whole.parse_argv(argv))


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["users.lst"], id="unknown-task"),
        pytest.param(["users.list", "--lmit", "3"], id="unknown-flag"),
        pytest.param(["users.show"], id="missing-positional"),
    ],
)
def test_the_parser_of_the_named_tasks_refuses_what_invoke_refuses(argv: list[str]) -> None:
    whole, named, _ = both_parsers(argv)
    with pytest.raises(ParseError) as theirs:
        whole.parse_argv(argv)
    with pytest.raises(ParseError) as ours:
        named.parse_argv(argv)
    assert str(ours.value) == str(theirs.value)


def test_help_for_a_task_named_after_help_gets_that_tasks_context() -> None:
    program = program_for(["--help", "users.show"])
    assert program.args.help.value == "users.show"
    parser = _parsing.make_parser(program, invoke_make_parser)
    assert list(parser.contexts) == ["users.show"]


def test_shell_completion_gets_every_task() -> None:
    program = program_for(["--complete", "--", "inv", "users.cr"])
    parser = _parsing.make_parser(program, invoke_make_parser)
    assert len(parser.contexts) == len(invoke_make_parser(program).contexts) > 40


def test_a_copy_of_a_task_is_a_new_task_with_the_same_parts() -> None:
    assert isinstance(create, AppTask)
    copied = copy.deepcopy(create)
    assert copied is not create
    assert copied.body is create.body
    assert copied.help == create.help
    assert [a.names for a in copied.get_arguments()] == [a.names for a in create.get_arguments()]
    before = create.times_called  # other tests in this process may have run it
    copied.times_called += 1
    assert create.times_called == before


def test_invoke_loading_a_namespace_copies_it_and_every_task_stays_usable() -> None:
    class Module:
        __name__ = "tasks"
        __doc__ = None
        ns = build_namespace()

    loaded = Collection.from_module(Module)  # type: ignore[arg-type]
    assert loaded.task_names == Module.ns.task_names
    assert loaded["users.create"] is not Module.ns["users.create"]
    assert loaded["users.create"].optional_positional is None
    assert loaded["keys.revoke"].optional_positional == "ids"


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["users.list", "--limit"], "error: --limit needs a value (see --help users.list)"),
        (
            ["users.create", "--password-env"],
            "error: --password-env needs a value (see --help users.create)",
        ),
    ],
)
def test_a_flag_without_its_value_is_named_as_typed(argv: list[str], line: str) -> None:
    _, named, _ = both_parsers(argv)
    with pytest.raises(ParseError) as caught:
        named.parse_argv(argv)
    explained = _parsing.explain(caught.value, [])
    assert (explained.message, explained.code) == (line, _parsing.INVALID_INPUT)
