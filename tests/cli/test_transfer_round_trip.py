"""Users and service accounts survive a trip SQLite -> PostgreSQL -> SQLite unchanged."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import uuid
from pathlib import Path

import pytest

from tests.fixtures.databases import pg_admin, with_database
from tests.fixtures.users import PASSWORD, PASSWORD_ENV
from tests.support import Cli


@pytest.mark.postgres
def test_principals_make_a_round_trip_between_engines_unchanged(
    cli: Cli, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue("sqlite_template")
    server = request.getfixturevalue("pg_server")
    pg_template = request.getfixturevalue("pg_template")
    first, last = tmp_path / "first.sqlite", tmp_path / "last.sqlite"
    shutil.copyfile(template, first)
    shutil.copyfile(template, last)
    name = f"bt_trip_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    request.addfinalizer(
        lambda: asyncio.run(pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    )
    urls = [f"sqlite:///{first}", with_database(server, name), f"sqlite:///{last}"]

    def use(url: str) -> None:
        cli.monkeypatch.setenv("APP_DATABASE_URL", url)

    use(urls[0])
    cli.monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    cli("users.seed-admin", "--password-env", PASSWORD_ENV)
    cli("users.create", "--email", "zoe@example.com", "--name", "Zoë", "--random-password")
    cli("users.create", "--email", "gone@example.com", "--inactive", "--random-password")
    cli("accounts.create", "ci", "--description", "deploys")
    cli("accounts.create", "old-bot", "accounts.deactivate", "old-bot")

    exports: list[tuple[str, str]] = []
    for source, target in itertools.pairwise(urls):
        use(source)
        users = cli("users.export", "--with-password-hashes").stdout
        accounts = cli("accounts.export").stdout
        exports.append((users, accounts))
        use(target)
        cli("users.import", "-", stdin=users)
        cli("accounts.import", "-", stdin=accounts)
    use(urls[-1])
    exports.append(
        (cli("users.export", "--with-password-hashes").stdout, cli("accounts.export").stdout)
    )

    assert exports[0] == exports[1] == exports[2]
    assert exports[0][0].count("\n") == 3
    use(urls[-1])
    again = cli("users.import", "-", "--json", stdin=exports[0][0]).json
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
