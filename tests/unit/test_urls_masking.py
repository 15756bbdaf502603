"""Masking a URL for display: nothing of a password survives, whatever the shape."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from backend.app.core.urls import (
    PASSWORD_MASK,
    DatabaseUrl,
    parse_database_url,
)
from tests.unit.url_cases import CANARY, NASTY, assert_no_piece_of

# -- masking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        pytest.param(
            f"postgresql://u:{CANARY}@h:5432/db",
            "postgresql+asyncpg://u:***@h:5432/db",
            id="password",
        ),
        pytest.param(
            f"postgresql://u:{quote(NASTY, safe='')}@h/db",
            "postgresql+asyncpg://u:***@h/db",
            id="nasty-password",
        ),
        pytest.param(
            f"postgresql://:{CANARY}@h/db", "postgresql+asyncpg://:***@h/db", id="no-user"
        ),
        pytest.param("postgresql://u@h/db", "postgresql+asyncpg://u@h/db", id="no-password"),
        pytest.param(
            f"postgresql:///db?user=u&password={CANARY}&host=/run/pg&sslpassword={CANARY}"
            "&sslmode=require",
            "postgresql+asyncpg://u:***@/db?host=/run/pg&sslpassword=***&sslmode=require",
            id="query-passwords",
        ),
    ],
)
def test_masked_hides_every_password(raw: str, masked: str) -> None:
    url = parse_database_url(raw)
    assert url.masked() == masked
    assert repr(url) == f"DatabaseUrl({masked!r})"
    assert str(url) == repr(url)
    for shown in (url.masked(), repr(url), str(url)):
        assert_no_piece_of(CANARY, shown)
        assert_no_piece_of(NASTY, shown)


def test_masked_uses_the_password_mask() -> None:
    assert PASSWORD_MASK == "***"
    url = parse_database_url("postgresql://u:***@h/db")
    assert url.password == "***"
    assert url.normalised() == "postgresql+asyncpg://u:%2A%2A%2A@h/db"
    assert parse_database_url(url.normalised()) == url


@given(
    user=st.none() | st.text(min_size=1, max_size=12),
    password=st.none() | st.text(min_size=1, max_size=24).filter(lambda s: "\x00" not in s),
    host=st.none() | st.sampled_from(["db.internal", "::1", "/var/run/postgresql", "127.0.0.1"]),
    port=st.none() | st.integers(1, 65535),
    database=st.none() | st.text(min_size=1, max_size=12),
    app=st.none() | st.text(max_size=12),
)
def test_any_url_round_trips_and_masks_its_password(
    user: str | None,
    password: str | None,
    host: str | None,
    port: int | None,
    database: str | None,
    app: str | None,
) -> None:
    if any(part is not None and "\x00" in part for part in (user, database, app)):
        return
    params = {} if app is None else {"application_name": app}
    url = DatabaseUrl(
        engine="postgresql",
        user=user,
        password=password,
        host=host,
        port=port,
        database=database,
        params=params,
    )
    assert parse_database_url(url.normalised()) == url
    sa = make_url(url.sqlalchemy_url())
    assert (sa.username or None, sa.password or None, sa.database or None) == (
        user,
        password,
        database,
    )
    # The masked form is the URL with the password, and only the password, replaced.
    mask = quote(PASSWORD_MASK, safe="")
    with_mask = replace(url, password=None if password is None else PASSWORD_MASK)
    assert url.masked() == with_mask.normalised().replace(f":{mask}@", f":{PASSWORD_MASK}@")


def test_a_url_is_immutable_and_hashable() -> None:
    url = parse_database_url("postgresql://u@h/db?sslmode=disable")
    with pytest.raises(TypeError):
        url.params["sslmode"] = "require"  # type: ignore[index]
    with pytest.raises(AttributeError):
        url.host = "other"  # type: ignore[misc]
    assert {url: 1}[parse_database_url("postgres://u@h/db?sslmode=disable")] == 1
