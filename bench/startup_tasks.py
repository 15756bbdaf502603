"""P1: ``inv --list`` and ``inv --help users.create`` against bare invoke on a trivial tasks.py.

The trivial collection is generated from the real one: a do-nothing task for each task, with the
same flags, defaults, help and docstring, in the same namespaces, so both sides list and explain
as much; its shape is checked against the real ``inv --list --list-format=json``.
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

from bench.context import Bench
from bench.measure import child_env, run, side_by_side, venv_script
from bench.report import Result
from bench.startup import ratio_result

P1_TARGET = 1.15


def _shape(listing: dict[str, Any]) -> tuple[int, int]:
    """(tasks, namespaces) in an ``inv --list --list-format=json`` document, nested ones too."""
    tasks = len(listing.get("tasks", []))
    namespaces = 0
    for sub in listing.get("collections", []):
        sub_tasks, sub_namespaces = _shape(sub)
        tasks += sub_tasks
        namespaces += 1 + sub_namespaces
    return tasks, namespaces


def _real_listing(bench: Bench) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603
        [*venv_script("inv"), "--list", "--list-format=json"],
        cwd=bench.root,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    listing: dict[str, Any] = json.loads(done.stdout)
    return listing


def _task_source(ident: str, task: Any) -> str:
    """A do-nothing task with the same flags, defaults, help and docstring as ``task``."""
    params = ["c"]
    for param in task.argspec(task.body).parameters.values():
        default = param.default
        params.append(param.name if default is param.empty else f"{param.name}={default!r}")
    doc = (task.body.__doc__ or "").strip()
    options = f"help={dict(task.help)!r}, iterable={list(task.iterable)!r}, auto_shortflags=False"
    return f"@task({options})\ndef {ident}({', '.join(params)}):\n    {doc!r}\n"


def _collection_source(collection: Any, var: str, ids: Iterator[int]) -> list[str]:
    lines: list[str] = []
    adds: list[str] = []
    for name, task in collection.tasks.items():
        ident = f"t{next(ids)}"
        lines.append(_task_source(ident, task))
        adds.append(f"{var}.add_task({ident}, name={name!r})")
    for name, sub in collection.collections.items():
        sub_var = f"c{next(ids)}"
        lines.extend(_collection_source(sub, sub_var, ids))
        adds.append(f"{sub_var}.__doc__ = {(sub.__doc__ or '').strip()!r}")
        adds.append(f"{var}.add_collection({sub_var}, name={name!r})")
    header = f"{var} = Collection()" if var == "ns" else f"{var} = Collection({var!r})"
    return [*lines, header, *adds, ""]


def write_trivial_collection(bench: Bench, folder: Path) -> dict[str, Any]:
    """A tasks.py of do-nothing tasks with the real collection's shape, for bare invoke.

    The shape (tasks, namespaces) is counted from the real ``inv --list --list-format=json``;
    each stand-in task copies its original's flags and help, so ``--help`` prints as much.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location("_bench_real_tasks", bench.root / "tasks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    source = "\n".join(
        [
            '"""A trivial collection of the same size as the project\'s, for the benchmark."""',
            "from invoke import Collection, task",
            "",
            *_collection_source(module.ns, "ns", count()),
        ]
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tasks.py").write_text(source)
    real = _shape(_real_listing(bench))
    done = subprocess.run(  # noqa: S603
        [*venv_script("inv"), "--list", "--list-format=json"],
        cwd=folder,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    trivial = _shape(json.loads(done.stdout))
    if real != trivial:
        raise RuntimeError(f"the trivial collection has {trivial} (tasks, namespaces), not {real}")
    return {"tasks": real[0], "namespaces": real[1]}


def p1(bench: Bench) -> list[Result]:
    trivial = bench.work / "trivial"
    shape = write_trivial_collection(bench, trivial)
    inv = venv_script("inv")
    env = child_env()
    reps = bench.reps(21, quick=7)
    results = []
    for what, args in (
        ("inv --list", ["--list"]),
        ("inv --help users.create", ["--help", "users.create"]),
    ):
        bench.progress(f"P1 {what}: {reps} runs each side")
        a, b = side_by_side(
            functools.partial(run, [*inv, *args], cwd=bench.root, env=env),
            functools.partial(run, [*inv, *args], cwd=trivial, env=env),
            reps=reps,
        )
        result = ratio_result(
            "P1",
            what,
            a,
            b,
            limit=P1_TARGET,
            a_name=f"{what} in the checkout",
            b_name=f"{what} on a trivial tasks.py with {shape['tasks']} tasks in "
            f"{shape['namespaces']} namespaces",
        )
        result.details["shape"] = shape
        results.append(result)
    return results
