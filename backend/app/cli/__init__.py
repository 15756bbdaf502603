"""The operator CLI: one invoke namespace per noun, composed into one collection.

Used by the checkout's ``tasks.py`` (for ``inv``), by ``python -m backend.app.cli`` and by the
``backendctl`` console script. Imports nothing heavy: ``inv --list`` must stay fast.
"""

from __future__ import annotations

from invoke.collection import Collection

from backend.app.cli import accounts, audit, config, db, keys, users
from backend.app.cli._profile import profile

NAMESPACES = (db, users, keys, accounts, config, audit)


def build_namespace() -> Collection:
    """The root collection: the `profile` and `shell` tasks plus every namespace.

    The shipped profiles are merged under the invoke config's ``app:`` by the runtime bridge,
    not by invoke: invoke would meet a malformed ``app:`` in the middle of a run, with a
    traceback, instead of as one line naming the file.
    """
    from backend.app.cli.shell import shell

    ns = Collection()
    ns.add_task(profile)
    ns.add_task(shell)
    for module in NAMESPACES:
        ns.add_collection(Collection.from_module(module))
    return ns
