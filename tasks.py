"""`inv` in a checkout: the operator namespaces shipped in ``backend.app.cli``."""

import sys

# invoke turns bytecode caching off before it loads this file; without the cache every `inv`
# call would compile the CLI modules again (about 20 ms, a tenth of `inv --list`).
sys.dont_write_bytecode = False

from backend.app.cli import build_namespace  # noqa: E402

ns = build_namespace()
