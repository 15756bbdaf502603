"""PostgreSQL URLs parse to their parts, normalise, and round-trip through SQLAlchemy."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import make_url

from backend.app.core.urls import (
    parse_database_url,
)
from tests.unit.url_cases_good import PG_GOOD


@pytest.mark.parametrize(("raw", "fields", "normalised"), PG_GOOD)
def test_a_postgresql_url_parses_to_its_parts(
    raw: str, fields: dict[str, Any], normalised: str
) -> None:
    url = parse_database_url(raw)
    assert url.engine == "postgresql"
    assert url.path is None
    for name, expected in fields.items():
        actual = getattr(url, name)
        assert (dict(actual) if name == "params" else actual) == expected, name
    assert url.normalised() == normalised


@pytest.mark.parametrize(("raw", "fields", "normalised"), PG_GOOD)
def test_the_normalised_form_parses_back_to_the_same_url(
    raw: str, fields: dict[str, Any], normalised: str
) -> None:
    url = parse_database_url(raw)
    again = parse_database_url(url.normalised())
    assert again == url
    assert hash(again) == hash(url)
    assert again.normalised() == url.normalised()


@pytest.mark.parametrize(("raw", "fields", "normalised"), PG_GOOD)
def test_sqlalchemy_reads_the_same_target_from_sqlalchemy_url(
    raw: str, fields: dict[str, Any], normalised: str
) -> None:
    url = parse_database_url(raw)
    sa = make_url(url.sqlalchemy_url())
    assert sa.drivername == "postgresql+asyncpg"
    if url.is_socket:
        assert sa.host is None
        assert sa.query.get("host") == url.host
        assert sa.query.get("port") == (None if url.port is None else str(url.port))
    else:
        assert dict(sa.query) == {}  # libpq's parameters go to connect_args, not to SQLAlchemy
    _, kwargs = sa.get_dialect()().create_connect_args(sa)
    # Exactly what asyncpg.connect() gets from SQLAlchemy: keywords it accepts, and our parts.
    parts = {
        "user": url.user,
        "password": url.password,
        "host": url.host,
        "port": url.port,
        "database": url.database,
    }
    assert kwargs == {name: value for name, value in parts.items() if value is not None}
