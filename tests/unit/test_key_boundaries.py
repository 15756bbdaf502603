"""Where the key format meets the services: a malformed key is refused before any query, and no
object that carries a raw key prints it.

Kept apart from test_key_format.py, which must stay free of databases and services because the
mutation run of ``backend.app.core.keys`` executes it once per mutant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.app.core import keys
from backend.app.domain import OwnerKind
from backend.app.errors import DatabaseUnreachable, MalformedKey, SchemaNotReady
from backend.app.models import ApiKey
from backend.app.services import authn
from backend.app.services import keys as key_service
from backend.app.services.context import ServiceContext
from backend.app.services.principals import Owner
from tests.fixtures.services import context_for


def one_changed(key: str) -> list[str]:
    """Every key that differs from ``key`` in exactly one position, by another base62 char."""
    variants = []
    for position, char in enumerate(key):
        # Walk the alphabet from the original character so each position gets a different one.
        replacement = keys.BASE62[(keys.BASE62.find(char) + 1 + position) % len(keys.BASE62)]
        if replacement == char:
            replacement = keys.BASE62[(keys.BASE62.find(char) + 2) % len(keys.BASE62)]
        variants.append(key[:position] + replacement + key[position + 1 :])
    return variants


@pytest.fixture(
    params=[
        "sqlite+aiosqlite:///{tmp}/missing/nothing-here.sqlite",
        # Port 1 on localhost: nothing listens there, the connection is refused at once.
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
    ],
    ids=["missing-sqlite-file", "unreachable-postgresql"],
)
async def dead_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ServiceContext]:
    url = str(request.param).format(tmp=tmp_path)
    ctx = context_for(url, tmp_path, database_connect_timeout=2)
    yield ctx
    await ctx.database.finish()


async def test_a_well_formed_key_does_reach_the_dead_database(
    dead_database: ServiceContext,
) -> None:
    """The control for the test below: this context really fails once it queries."""
    with pytest.raises((DatabaseUnreachable, SchemaNotReady)):
        await authn.authenticate(dead_database, keys.generate_key("bk_"))


async def test_a_key_with_one_changed_character_is_rejected_before_any_query(
    dead_database: ServiceContext,
) -> None:
    key = keys.generate_key("bk_")
    for variant in one_changed(key):
        with pytest.raises(MalformedKey):
            await authn.authenticate(dead_database, variant)
    for text in ("", "garbage", key[:-1], "Bearer " + key):
        with pytest.raises(MalformedKey):
            await authn.authenticate(dead_database, text)


def test_the_repr_of_an_issued_key_never_contains_the_key() -> None:
    raw = keys.generate_key("bk_")
    api_key = ApiKey(id=7, digest=keys.digest(raw), display_prefix=keys.display_prefix(raw))
    owner = Owner(kind=OwnerKind.ACCOUNT, id=1, name="ci", active=True)
    issued = key_service.IssuedKey(key=api_key, owner=owner, raw=raw)
    for text in (repr(issued), str(issued), f"{issued}", repr({"issued": issued})):
        assert raw not in text
        assert raw[11:] not in text


def test_the_repr_of_a_rotation_never_contains_the_new_key() -> None:
    raw = keys.generate_key("bk_")
    old = ApiKey(id=6, digest="0" * 64, display_prefix="bk_oldoldol")
    new = ApiKey(id=7, digest=keys.digest(raw), display_prefix=keys.display_prefix(raw))
    owner = Owner(kind=OwnerKind.ACCOUNT, id=1, name="ci", active=True)
    rotation = key_service.Rotation(old=old, new=key_service.IssuedKey(new, owner, raw))
    assert raw not in repr(rotation)
    assert raw[11:] not in str(rotation)
