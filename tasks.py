"""`inv` in a checkout: the operator namespaces shipped in ``backend.app.cli``, plus the
developer tasks of ``devtools`` (test, lint, fmt, typecheck, ci, dist, bench)."""

import sys

# invoke turns bytecode caching off before it loads this file; without the cache every `inv`
# call would compile the CLI modules again (about 20 ms, a tenth of `inv --list`).
sys.dont_write_bytecode = False

from backend.app.cli import _parsing, build_namespace  # noqa: E402
from devtools.tasks import add_to  # noqa: E402

# `inv users.show --help` and `inv users.lst` (a typo) answered as backendctl answers them.
_parsing.install()

ns = add_to(build_namespace())
