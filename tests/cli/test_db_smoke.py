from __future__ import annotations

from tests.support import Cli, Db


def test_upgrade_then_check(cli: Cli, cli_empty_db: Db) -> None:
    assert cli("db.upgrade", "--json").json["status"] == "upgraded"
    assert cli("db.check", "--json").json["status"] == "ok"
    assert "users" in cli_empty_db.tables()


def test_migrated_fixture_is_at_head(cli: Cli, cli_db: Db) -> None:
    assert cli("db.current", "--json").json["at_head"] is True
