"""``python -m backend.app.cli`` and the ``backendctl`` console script (no checkout needed)."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.exceptions import Exit
from invoke.parser.argument import Argument
from invoke.program import Program

from backend.app.cli import _parsing, build_namespace
from backend.app.cli._invoke_config import current_overrides
from backend.app.cli._session import AppExecutor
from backend.app.core.profiles import CONFIG_SUFFIXES, merge_dicts, package_defaults

if TYPE_CHECKING:
    from invoke.parser import Parser


def find_project(start: Path, environ: dict[str, str] | Any = os.environ) -> Path | None:
    """The folder whose invoke.yaml this run uses: APP_ROOT, else the cwd or its nearest parent."""
    if environ.get("APP_ROOT"):
        candidates = [Path(environ["APP_ROOT"]).expanduser().resolve()]
    else:
        here = start.resolve()
        candidates = [here, *here.parents]
    for folder in candidates:
        if any((folder / f"invoke.{suffix}").is_file() for suffix in CONFIG_SUFFIXES):
            return folder
    return None


class AppProgram(Program):
    """invoke's Program, plus the project's invoke.yaml and a ``--profile`` core flag."""

    def core_args(self) -> list[Argument]:
        return [
            *super().core_args(),
            Argument(
                names=("profile",),
                help="Profile for every task in this run (else APP_PROFILE, else app.profile).",
            ),
        ]

    def parse_tasks(self) -> None:
        _parsing.parse_tasks(self, Program.parse_tasks)

    def parse_cleanup(self) -> None:
        _parsing.parse_cleanup(self, Program.parse_cleanup)

    def _make_parser(self) -> Parser:
        parser: Parser = _parsing.make_parser(self, Program._make_parser)
        return parser

    def print_version(self) -> None:
        from invoke import __version__ as invoke_version

        print(f"{self.name} {self.version} (invoke {invoke_version})")

    def parse_collection(self) -> None:
        super().parse_collection()
        # A Program given a namespace never looks for project config; do what `inv` does.
        folder = find_project(Path.cwd())
        if folder is None:
            return
        self.config.set_project_location(str(folder))
        try:
            from backend.app.core.profiles import check_config_file

            for suffix in CONFIG_SUFFIXES:
                if (folder / f"invoke.{suffix}").is_file():
                    check_config_file(folder / f"invoke.{suffix}")
            self.config.load_project()
        except Exception as error:
            detail = " ".join(str(error).split())  # YAML errors span lines; errors are one line
            raise Exit(f"error: cannot load {folder}/invoke.yaml: {detail}", code=2) from None
        check_app_sections(self.config)

    def update_config(self, merge: bool = True) -> None:
        super().update_config(merge=False)
        overrides = copy.deepcopy(current_overrides(self.config))
        # A chain may repeat a task on purpose (`profile dev db.upgrade profile test db.upgrade`);
        # invoke's dedupe would silently drop the repeat.
        merge_dicts(overrides, {"tasks": {"dedupe": False}})
        name = self.args.profile.value
        if name:
            merge_dicts(overrides, {"app": {"selected_profile": name, "selected_via": "flag"}})
        self.config.load_overrides(overrides, merge=False)
        if merge:
            self.config.merge()


def check_app_sections(config: Any) -> None:
    """Refuse an ``app:`` section invoke cannot merge ``--profile``'s override into.

    The runtime bridge reports a misshaped ``app:`` itself, but ``--profile`` is merged by
    invoke before any task runs, and invoke would fail there with a traceback.
    """
    from invoke.config import AmbiguousMergeError
    from invoke.config import merge_dicts as invoke_merge

    from backend.app.cli._invoke_config import level_data, level_path

    merged = {"app": package_defaults()}
    for level in ("system", "user", "project"):
        data = level_data(config, level)
        if "app" not in data:
            continue
        try:
            invoke_merge(merged, {"app": copy.deepcopy(data["app"])})
        except AmbiguousMergeError:
            where = level_path(config, level) or f"the {level} config file"
            raise Exit(
                f"error: {where}: app, app.profiles and each profile in it must be mappings",
                code=2,
            ) from None


def program() -> AppProgram:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("backend")
    except PackageNotFoundError:
        release = "unknown"
    return AppProgram(
        name="backendctl",
        binary="backendctl",
        binary_names=["backendctl"],
        namespace=build_namespace(),
        version=release,
        executor_class=AppExecutor,
    )


def main() -> None:
    try:
        try:
            program().run()
        finally:
            sys.stdout.flush()  # invoke's own output (--help, --list) is still buffered here
    except BrokenPipeError:
        # A reader that left (`| head`) is not an error.
        from backend.app.cli._boundary import quiet_exit

        raise SystemExit(quiet_exit().code) from None


if __name__ == "__main__":
    main()
