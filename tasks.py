"""`inv` in a checkout: the operator namespaces shipped in ``backend.app.cli``, plus `bench`."""

import sys

# invoke turns bytecode caching off before it loads this file; without the cache every `inv`
# call would compile the CLI modules again (about 20 ms, a tenth of `inv --list`).
sys.dont_write_bytecode = False

from invoke.context import Context  # noqa: E402
from invoke.exceptions import Exit  # noqa: E402
from invoke.tasks import task  # noqa: E402

from backend.app.cli import _parsing, build_namespace  # noqa: E402

# `inv users.show --help` and `inv users.lst` (a typo) answered as backendctl answers them.
_parsing.install()


@task(
    help={
        "quick": "a short run (about a minute): fewer repetitions, no 1M-key database",
        "only": "measure only these figures, comma-separated (e.g. P1,P4)",
        "json": "also write the results as JSON to this path",
        "explain": "also break P1-P3's commands down into imports and the rest",
    },
    auto_shortflags=False,
)
def bench(
    c: Context, quick: bool = False, only: str = "", json: str = "", explain: bool = False
) -> None:
    """Measure the performance targets P1-P6 side by side and print the table (python -m bench)."""
    if c.config.run.dry:
        raise Exit("error: bench cannot be dry-run (it builds databases and runs commands)", 2)
    from bench.cli import main  # the benchmark only loads when it runs: `inv --list` stays fast

    argv = [*(["--quick"] if quick else []), *(["--explain"] if explain else [])]
    argv += [*(["--only", only] if only else []), *(["--json", json] if json else [])]
    if main(argv) != 0:
        raise Exit(code=1)


ns = build_namespace()
ns.add_task(bench)
