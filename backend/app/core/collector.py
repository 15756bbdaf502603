"""CPython's garbage collector while a command loads: paused, then what was loaded is frozen.

Loading the stack a command needs (invoke, pydantic, SQLAlchemy, the models) makes about 120,000
long-lived objects and next to no garbage: a full collection right after loading finds about 600
unreachable objects, yet takes about 50 ms, because it scans everything loaded so far, and the
collector runs such collections on the way. That was about a sixth of the time the imports take
(README, Performance, P3). So ``inv`` and ``backendctl`` pause the collector before they load the
project; once a command's database stack is loaded (its first ``Database``), or when its task
ends, :func:`resume` freezes what is loaded (``gc.freeze``: later collections skip it, as they
would skip objects that live as long as the process anyway) and turns the collector back on, so
the work itself (an import of a million lines, a shell) always runs with it.
"""

from __future__ import annotations

import gc


class _State:
    paused = False  # pause() turned the collector off and resume() has not turned it on yet
    loaded = False  # pause() has run in this process: the stack is loaded, or being loaded


def pause() -> None:
    """Turn the collector off for loading: once a process (a chain's later tasks, or a second
    command run in the same process, find the stack loaded), and unless it is off already."""
    if not _State.loaded and gc.isenabled():
        gc.disable()
        _State.paused = True
    _State.loaded = True


def resume() -> None:
    """Freeze what is loaded and turn the collector back on, if :func:`pause` turned it off."""
    if _State.paused:
        _State.paused = False
        gc.freeze()
        gc.enable()


def paused() -> bool:
    return _State.paused
