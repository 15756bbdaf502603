"""`db.create` and `db.drop`, as typed, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import stat
import uuid
from pathlib import Path

import pytest

from tests.fixtures.databases import pg_admin, with_database
from tests.fixtures.lifecycle import DRY_NOTE, SECRET_KEY, Target, _fetch, drop_pg
from tests.support import Cli

# -- db.create ------------------------------------------------------------------------------------


def test_create_makes_the_database_then_says_unchanged(cli: Cli, using: Target) -> None:
    assert not using.exists()
    created = cli("db.create", "--json").json
    assert created == {
        "status": "created",
        "engine": using.kind,
        "database": using.name,
        **({"files": []} if using.kind == "sqlite" else {}),
    }
    assert using.exists()
    again = cli("db.create")
    assert again.stdout.startswith("unchanged: ")
    assert using.exists()


def test_a_new_sqlite_file_is_private_in_a_private_folder(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "new" / "app.sqlite"
    cli.monkeypatch.setenv("APP_DATABASE_URL", f"sqlite:///{path}")
    cli("db.create")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.stat().st_size == 0


def test_a_dry_create_says_what_it_would_do_and_creates_nothing(cli: Cli, using: Target) -> None:
    human = cli("--dry", "db.create")
    assert (
        human.stdout
        == f"would create: the {'SQLite ' if using.kind == 'sqlite' else ''}database {using.name}\n"
    )
    assert DRY_NOTE in human.stderr.splitlines()
    shown = cli("--dry", "db.create", "--json").json
    assert (shown["status"], shown["dry_run"]) == ("would create", True)
    assert not using.exists()
    if using.kind == "sqlite":
        assert not Path(using.name).parent.exists()


def test_an_existing_file_that_is_not_sqlite_is_a_conflict(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n")
    cli.monkeypatch.setenv("APP_DATABASE_URL", f"sqlite:///{path}")
    result = cli("db.create", expect=4)
    assert result.error_lines == [f"error: {path} exists but is not a SQLite database"]
    refused = cli("db.drop", "--yes", expect=4)
    assert refused.error_lines == [f"error: {path} exists but is not a SQLite database"]
    assert path.read_text() == "not a database\n"


@pytest.mark.postgres
def test_create_connects_with_the_urls_tls_settings(cli: Cli, pg_server: str) -> None:
    if asyncio.run(_fetch(pg_server, "SELECT current_setting('ssl')")) == "on":
        pytest.skip("the test server offers TLS")
    name = f"bt_life_{uuid.uuid4().hex[:10]}"
    cli.monkeypatch.setenv("APP_DATABASE_URL", with_database(pg_server, name) + "?sslmode=require")
    result = cli("db.create", expect=6)
    # The same answer as any task connecting to that URL: the TLS setting reached the server.
    assert result.error_lines == cli("db.current", expect=6).error_lines
    assert (
        asyncio.run(_fetch(pg_server, "SELECT 1 FROM pg_database WHERE datname = $1", name)) is None
    )


@pytest.mark.postgres
def test_a_user_without_createdb_is_refused(cli: Cli, pg_server: str) -> None:
    role = f"bt_role_{uuid.uuid4().hex[:8]}"
    name = f"bt_life_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_admin(pg_server, f'CREATE ROLE "{role}" LOGIN NOCREATEDB'))
    try:
        location = pg_server.split("://", 1)[1].rsplit("/", 1)[0].rpartition("@")[2]
        cli.monkeypatch.setenv("APP_DATABASE_URL", f"postgresql://{role}@{location}/{name}")
        result = cli("db.create", expect=5)
        assert result.error_lines[0].startswith(
            f"error: the server refused to create the database {name}: permission denied"
        )
    finally:
        drop_pg(pg_server, name)
        asyncio.run(pg_admin(pg_server, f'DROP ROLE IF EXISTS "{role}"'))


@pytest.mark.postgres
def test_a_url_without_a_database_name_is_invalid_input(cli: Cli, pg_server: str) -> None:
    base = pg_server.split("://", 1)[1].rsplit("/", 1)[0]
    cli.monkeypatch.setenv("APP_DATABASE_URL", f"postgresql://{base}")
    result = cli("db.create", expect=2)
    assert "names no database" in result.error_lines[0]


# -- db.drop --------------------------------------------------------------------------------------


def test_drop_needs_yes_even_where_the_profile_asks_for_no_confirmation(
    cli: Cli, using: Target
) -> None:
    cli("db.create", "db.upgrade")
    refused = cli("db.drop", expect=5)  # the dev profile lets db.reset through without --yes
    assert refused.error_lines == [
        "error: dropping the database is destructive and was not confirmed; pass --yes (or set "
        "APP_ASSUME_YES=1) to confirm"
    ]
    assert using.exists()
    assert "users" in using.db.tables()


def test_drop_really_drops_then_says_unchanged(cli: Cli, using: Target) -> None:
    cli("db.create", "db.upgrade", "users.seed-admin")
    dropped = cli("db.drop", "--yes", "--json").json
    assert (dropped["status"], dropped["database"]) == ("dropped", using.name)
    assert not using.exists()
    if using.kind == "sqlite":
        path = Path(using.name)
        assert dropped["files"][0] == str(path)
        assert not [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    again = cli("db.drop", "--yes")
    assert again.stdout.startswith("unchanged: there is no ")


def test_assume_yes_confirms_a_drop(cli: Cli, using: Target) -> None:
    cli("db.create")
    cli.monkeypatch.setenv("APP_ASSUME_YES", "1")
    cli("db.drop")
    assert not using.exists()


def test_a_dry_drop_says_what_it_would_do_and_drops_nothing(cli: Cli, using: Target) -> None:
    cli("db.create", "db.upgrade", "users.seed-admin")
    before = using.db.dump()
    cli("--dry", "db.drop", expect=5)  # the guards hold under a dry run too
    shown = cli("--dry", "db.drop", "--yes", "--json").json
    assert (shown["status"], shown["dry_run"]) == ("would drop", True)
    human = cli("--dry", "db.drop", "--yes")
    assert human.stdout.startswith("would drop: the ")
    assert DRY_NOTE in human.stderr.splitlines()
    assert using.exists()
    assert using.db.dump() == before


def test_a_database_stamped_protected_is_not_dropped_without_the_override(
    cli: Cli, using: Target
) -> None:
    cli.monkeypatch.setenv("APP_SECRET_KEY", SECRET_KEY)
    cli("db.create", "--profile", "prod", "db.upgrade")
    before = using.db.dump()
    refused = cli("db.drop", "--yes", expect=5)  # under dev: the stamp is what refuses
    assert refused.error_lines == [
        "error: dropping the database refused: the database was migrated under the protected "
        "profile 'prod'; confirming is not enough, set APP_ALLOW_DESTRUCTIVE=1 as well if you "
        "really mean it"
    ]
    assert using.db.dump() == before
    cli.monkeypatch.setenv("APP_ALLOW_DESTRUCTIVE", "1")
    cli("db.drop", "--yes")
    assert not using.exists()


def test_a_protected_profile_refuses_a_drop_even_of_an_unstamped_database(
    cli: Cli, using: Target
) -> None:
    cli.monkeypatch.setenv("APP_SECRET_KEY", SECRET_KEY)
    cli("db.create")
    refused = cli("--profile", "prod", "db.drop", "--yes", expect=5)
    assert "the profile 'prod' is protected" in refused.error_lines[0]
    assert "APP_ALLOW_DESTRUCTIVE=1" in refused.error_lines[0]
    assert using.exists()


@pytest.mark.postgres
def test_a_database_in_use_is_dropped_only_with_force(cli: Cli, pg_server: str) -> None:
    name = f"bt_life_{uuid.uuid4().hex[:10]}"
    url = with_database(pg_server, name)
    cli.monkeypatch.setenv("APP_DATABASE_URL", url)
    cli("db.create")

    async def hold_then_drop() -> None:
        import asyncpg

        other = await asyncpg.connect("postgresql://" + url.split("://", 1)[1], timeout=10)
        try:
            busy = await asyncio.to_thread(cli, "db.drop", "--yes", expect=4)
            assert busy.error_lines == [
                f"error: the database {name} is being used by other sessions; they must "
                "disconnect first, or use --force to disconnect them"
            ]
            await asyncio.to_thread(cli, "db.drop", "--yes", "--force")
        finally:
            await other.close(timeout=2) if not other.is_closed() else None

    try:
        asyncio.run(hold_then_drop())
        assert (
            asyncio.run(_fetch(pg_server, "SELECT 1 FROM pg_database WHERE datname = $1", name))
            is None
        )
    finally:
        drop_pg(pg_server, name)


@pytest.mark.postgres
def test_the_servers_own_databases_are_never_dropped(cli: Cli, pg_server: str) -> None:
    cli.monkeypatch.setenv("APP_DATABASE_URL", with_database(pg_server, "postgres"))
    refused = cli("db.drop", "--yes", expect=5)
    assert refused.error_lines == [
        "error: dropping the database refused: postgres is one of the server's own databases"
    ]


def test_a_stray_wal_beside_a_missing_sqlite_file_is_dropped_too(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    wal = tmp_path / "app.sqlite-wal"
    wal.write_bytes(b"left behind")
    cli.monkeypatch.setenv("APP_DATABASE_URL", f"sqlite:///{path}")
    dropped = cli("db.drop", "--yes", "--json").json
    assert (dropped["status"], dropped["files"]) == ("dropped", [str(wal)])
    assert not wal.exists()
