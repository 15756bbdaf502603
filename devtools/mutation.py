"""Mutation testing for one module: how much of its behaviour do its fast tests pin down?

    python -m devtools.mutation backend/app/core/keys.py --tests tests/unit/test_key_format.py

Each mutant, one small change to the module's syntax tree, is tested by a fresh pytest in a
private copy of the checkout (never in the real file, which others may be editing). A survivor
means a missing test, or a change that cannot alter behaviour: list that on ``EQUIVALENT``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from subprocess import PIPE, STDOUT

# Mutants that cannot change behaviour, per module: (scope, description) -> why not.
_ANY_DUMMY = "any fixed dummy password will do: only the time its hash takes matters"
EQUIVALENT: dict[str, dict[tuple[str, str], str]] = {
    "backend/app/core/security.py": {
        ("<module>", "'timing-equaliser-' -> 'XXtiming-equaliser-XX'"): _ANY_DUMMY,
        ("<module>", "'x' -> 'XXxXX'"): _ANY_DUMMY,
        ("<module>", "16 -> 17"): _ANY_DUMMY,
    },
    # Descriptions are cut at 60 characters, so an entry may also name a sibling mutant that
    # the tests kill; the summary lists those apart, and only the survivor counts as equivalent.
    "backend/app/domain.py": {
        ("_domain", "'.' -> 'XX.XX'"): (
            "rstrip('XX.XX') strips only 'X' besides '.', and the domain is lower-cased first"
        ),
        ("_domain", "raise InvalidInput(f'invalid email {quote(original)}: bad... -> pass"): (
            "a non-ASCII domain IDNA refuses fails the ASCII-only label check with the same message"
        ),
        ("<module>", "'E' -> 'XXEXX'"): "a TypeVar's name is only read by type checkers",
    },
    "backend/app/core/guards.py": {
        ("require_unprotected", "return -> return None"): "a bare return already returns None",
    },
    "backend/app/services/keys.py": {
        ("owner_of", "assert key.service_account_id is not None -> pass"): (
            "for mypy only: the exactly_one_owner check constraint keeps it from ever failing"
        ),
    },
}

FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}  # fmt: skip
ARITHMETIC: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
}  # fmt: skip
# Never removed: imports and definitions (fail on first use), return (the `return None` mutant).
REMOVABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise, ast.Assert, ast.If,
             ast.Delete, ast.For, ast.While, ast.With, ast.Try)  # fmt: skip
DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
NOT_EXPRESSIONS = frozenset({"annotation", "returns", "type_comment"})
RAW_DESCRIPTION = argparse.RawDescriptionHelpFormatter


@dataclass
class Mutant:
    line: int
    scope: str
    description: str
    status: str = "pending"  # then killed, timeout or survived
    equivalent: str | None = None  # the allow-list's reason, when it has one


def _show(node: ast.AST) -> str:
    lines = ast.unparse(node).splitlines() or [""]
    text = lines[0] + (" ..." if len(lines) > 1 else "")
    return text if len(text) <= 60 else text[:57] + "..."


def _skipped(parent: ast.AST, field: str, child: ast.AST) -> bool:
    """Docstrings, type annotations and ``if TYPE_CHECKING:`` blocks are not behaviour."""
    docstring = (
        isinstance(parent, DOCUMENTED)
        and ast.get_docstring(parent, clean=False) is not None
        and child is parent.body[0]
    )
    type_checking = isinstance(child, ast.If) and ast.unparse(child.test) == "TYPE_CHECKING"
    return field in NOT_EXPRESSIONS or docstring or type_checking


def _sites(node: ast.AST, scope: str, in_function: bool) -> Iterator[tuple[ast.AST, str, bool]]:
    """Every node that may be mutated, in a fixed order, with its scope."""
    yield node, scope, in_function
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        scope = node.name if scope == "<module>" else f"{scope}.{node.name}"
        in_function = not isinstance(node, ast.ClassDef)
    for field, value in ast.iter_fields(node):
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST) and not _skipped(node, field, child):
                yield from _sites(child, scope, in_function)


def _constant(value: object) -> str | bytes | float | None:
    """The mutated value, or None for none (None itself, complex numbers, ``...``)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return 1 - value if value in (0, 1) else value + 1
    if isinstance(value, str):
        return f"XX{value}XX" if value else "XX"
    if isinstance(value, bytes):
        return b"XX" + value + b"XX" if value else b"XX"
    return None


def _changed(node: ast.AST, **fields: object) -> ast.AST:
    new = copy.deepcopy(node)
    for name, value in fields.items():
        setattr(new, name, copy.deepcopy(value))
    return new


def _operators(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in FLIPS:
                yield _changed(node, ops=[*node.ops[:i], FLIPS[type(op)](), *node.ops[i + 1 :]])
    elif isinstance(node, ast.BoolOp):
        yield _changed(node, op=ast.Or() if isinstance(node.op, ast.And) else ast.And())
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield copy.deepcopy(node.operand)
    elif isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        yield _changed(node, op=ARITHMETIC[type(node.op)]())


def _replacements(node: ast.AST, in_function: bool) -> Iterator[ast.AST]:
    yield from _operators(node)
    if isinstance(node, ast.Constant) and (value := _constant(node.value)) is not None:
        yield ast.Constant(value)
    elif isinstance(node, ast.Return) and ast.unparse(node) != "return None":
        yield ast.Return(ast.Constant(None))
    elif isinstance(node, ast.If | ast.IfExp | ast.While):
        yield _changed(node, test=ast.UnaryOp(ast.Not(), node.test))
    elif isinstance(node, ast.Slice):
        for name, bound in (("lower", node.lower), ("upper", node.upper)):
            if bound is not None:
                yield _changed(node, **{name: ast.BinOp(bound, ast.Add(), ast.Constant(1))})
                yield _changed(node, **{name: ast.BinOp(bound, ast.Sub(), ast.Constant(1))})
    if in_function and isinstance(node, REMOVABLE):
        yield ast.Pass()


def _swap(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                value[next(i for i, item in enumerate(value) if item is old)] = new
                return
    raise LookupError(f"nothing holds {_show(old)}")


def generate(source: str) -> tuple[str, list[tuple[Mutant, str]]]:
    """The module as ``ast.unparse`` writes it, and every distinct mutant with its source."""
    tree = ast.parse(source)
    original = ast.unparse(tree)
    seen = {original}
    mutants: list[tuple[Mutant, str]] = []
    for node, scope, in_function in list(_sites(tree, "<module>", False)):
        for new in _replacements(node, in_function):
            _swap(tree, node, new)
            text = ast.unparse(tree)
            _swap(tree, new, node)
            if text not in seen:
                seen.add(text)
                description = f"{_show(node)} -> {_show(new)}"
                mutants.append((Mutant(getattr(node, "lineno", 0), scope, description), text))
    return original, mutants


def _copy_checkout(root: Path, entries: set[str], into: Path) -> Path:
    into.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    for name in sorted(entries):
        if (root / name).is_dir():
            shutil.copytree(root / name, into / name, ignore=ignore)
        elif (root / name).is_file():
            shutil.copy2(root / name, into / name)
    return into


def _pytest(
    workdir: Path, module: str, source: str, tests: Sequence[str], timeout: float
) -> tuple[str, str]:
    """Test ``source`` as ``module`` in ``workdir``: (killed, survived or timeout; the output)."""
    (workdir / module).write_text(source, encoding="utf-8")
    # The copy goes on the path ahead of an editable install of the checkout, and no bytecode
    # is cached: two mutants written within the same second must never share a .pyc.
    env = {**os.environ, "PYTHONPATH": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    with subprocess.Popen(  # noqa: S603 (our own interpreter, our own arguments)
        command,
        cwd=workdir,
        env=env,
        stdout=PIPE,
        stderr=STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its whole group: pytest may have children
            process.communicate()
            return "timeout", ""
    return ("survived" if process.returncode == 0 else "killed"), output


def _summary(module: str, mutants: list[Mutant], minimum: float) -> tuple[float, list[str]]:
    counted = [m for m in mutants if not (m.equivalent and m.status == "survived")]
    killed = [m for m in counted if m.status != "survived"]
    rate = 100.0 * len(killed) / len(counted) if counted else 100.0
    timeouts = sum(m.status == "timeout" for m in killed)
    lines = [
        f"{module}: {len(mutants)} mutants: {len(killed)} killed ({timeouts} by timeout), "
        f"{len(counted) - len(killed)} survived, {len(mutants) - len(counted)} equivalent",
        f"killed {rate:.1f}% of {len(counted)} behaviour-changing mutants (minimum {minimum:g}%)",
    ]
    for title, group in (
        ("survived:", [m for m in counted if m.status == "survived"]),
        ("equivalent (allow-listed):", [m for m in mutants if m not in counted]),
        ("allow-listed as equivalent, yet killed:", [m for m in killed if m.equivalent]),
    ):
        lines += [title] if group else []
        for m in group:
            line = f"  {module}:{m.line}: {m.scope}: {m.description}  {m.equivalent or ''}"
            lines.append(line.rstrip())
    stale = set(EQUIVALENT.get(module, {})) - {(m.scope, m.description) for m in mutants}
    lines += [f"allow-listed, but no such mutant: {scope}: {what}" for scope, what in stale]
    return rate, lines


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        "python -m devtools.mutation", description=__doc__, formatter_class=RAW_DESCRIPTION
    )
    parser.add_argument("module", type=Path, help="the module to mutate, e.g. backend/app/x.py")
    parser.add_argument("--tests", nargs="+", required=True, help="test files or node ids")
    parser.add_argument("--jobs", type=int, default=2, help="pytest runs at once (default 2)")
    parser.add_argument("--min", type=float, default=95.0, help="lowest kill rate that passes, %%")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default 4x baseline)")
    parser.add_argument("--json", type=Path, dest="json_out", help="also write the results here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.monotonic()
    root = next(p for p in args.module.resolve().parents if (p / "pyproject.toml").is_file())
    module = args.module.resolve().relative_to(root).as_posix()
    split = (test.partition("::") for test in args.tests)
    tests = [Path(p).resolve().relative_to(root).as_posix() + s + node for p, s, node in split]
    original, generated = generate((root / module).read_text(encoding="utf-8"))
    for mutant, _ in generated:
        mutant.equivalent = EQUIVALENT.get(module, {}).get((mutant.scope, mutant.description))
    entries = {"pyproject.toml", "conftest.py", *(path.split("/")[0] for path in [module, *tests])}
    jobs = max(1, args.jobs)

    with tempfile.TemporaryDirectory(prefix="mutation-") as temporary:
        slots: queue.Queue[Path] = queue.Queue()
        for job in range(jobs):
            slots.put(_copy_checkout(root, entries, Path(temporary) / str(job)))
        workdir = slots.get()
        before = time.monotonic()
        status, output = _pytest(workdir, module, original, tests, 600.0)
        baseline = time.monotonic() - before
        if status != "survived":
            print(f"the tests fail without any mutant:\n{output[-4000:]}", file=sys.stderr)
            return 2
        # A module that cannot even be imported must fail them, or they test something else.
        broken = original + "\nraise RuntimeError('mutation: broken on purpose')\n"
        if _pytest(workdir, module, broken, tests, 600.0)[0] != "killed":
            print(f"the tests never import {module} from the copy", file=sys.stderr)
            return 2
        slots.put(workdir)
        timeout = args.timeout or max(30.0, 4 * baseline)
        print(f"{module}: {len(generated)} mutants, {jobs} jobs", file=sys.stderr)

        def run(item: tuple[Mutant, str]) -> None:
            mutant, source = item
            workdir = slots.get()
            try:
                mutant.status = _pytest(workdir, module, source, tests, timeout)[0]
            finally:
                slots.put(workdir)

        # Threads suffice: each one only waits on a pytest process of its own.
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(run, generated))

    mutants = [mutant for mutant, _ in generated]
    rate, lines = _summary(module, mutants, args.min)
    seconds = time.monotonic() - started
    print("\n".join([*lines, f"{seconds:.0f}s in all, {baseline:.1f}s for one test run"]))
    if args.json_out:
        result = {"module": module, "tests": tests, "kill_rate": rate, "seconds": seconds}
        result["mutants"] = [asdict(mutant) for mutant in mutants]
        args.json_out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if rate >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
