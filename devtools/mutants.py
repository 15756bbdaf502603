"""The mutants of a module: each one small change to its syntax tree, and its source.

Comparisons and boolean operators flipped, ``not`` dropped, arithmetic swapped, constants
changed, returns made ``return None``, conditions negated, slice bounds moved by one, statements
inside functions replaced by ``pass``. Docstrings, annotations and ``if TYPE_CHECKING:`` blocks
are left alone. :mod:`devtools.mutation` runs the tests against each.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import dataclass

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
