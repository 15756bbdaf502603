"""Helpers of the tests of input parsers (``domain``, ``core.durations``): the refusal a call
raises, how a message names a flag, and how it echoes what was typed."""

from __future__ import annotations

import pytest

from backend.app.errors import InvalidInput


def refusal(call: object, *args: object, **kwargs: object) -> InvalidInput:
    """The InvalidInput that ``call(*args, **kwargs)`` raises."""
    assert callable(call)
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    assert caught.value.exit_code == 2
    return caught.value


def as_flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def echoed(value: str) -> str:
    """How a message echoes an input: quoted, and past 60 characters cut with an ellipsis."""
    return repr(value if len(value) <= 60 else value[:60] + "...")
