"""What asyncpg (connect_args) and psql (the libpq environment) get from a URL."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from backend.app.core.urls import (
    DatabaseUrl,
    InvalidDatabaseUrl,
    parse_database_url,
)
from tests.unit.url_cases import NASTY

# -- what asyncpg and psql get -------------------------------------------------------------------


def test_connect_args_translate_every_libpq_parameter(certs: dict[str, str]) -> None:
    query = "&".join(f"{name}={quote(path)}" for name, path in certs.items())
    url = parse_database_url(
        f"postgresql://u@h/db?sslmode=verify-ca&{query}&sslpassword=k%26p"
        "&connect_timeout=7&application_name=my%20app"
    )
    dsn_query = "&".join(f"{name}={quote(path)}" for name, path in certs.items())
    assert url.connect_args() == {
        "ssl": "verify-ca",
        "dsn": f"postgresql://?{dsn_query}&sslpassword=k%26p",
        "timeout": 7.0,
        "server_settings": {"application_name": "my app"},
    }


@pytest.mark.parametrize(
    ("query", "args"),
    [
        pytest.param("", {}, id="nothing"),
        *[
            pytest.param(f"sslmode={mode}", {"ssl": mode}, id=mode)
            for mode in ("disable", "allow", "prefer", "require")
        ],
        pytest.param("connect_timeout=1", {"timeout": 1.0}, id="timeout"),
        pytest.param(
            "application_name=",
            {"server_settings": {"application_name": ""}},
            id="empty-application-name",
        ),
        pytest.param(
            "sslmode=disable&sslrootcert=/nowhere/ca.pem",
            {"ssl": "disable", "dsn": "postgresql://?sslrootcert=/nowhere/ca.pem"},
            id="files-unchecked-when-disabled",
        ),
        pytest.param(
            "sslpassword=pw", {"dsn": "postgresql://?sslpassword=pw"}, id="sslpassword-only"
        ),
    ],
)
def test_connect_args(query: str, args: dict[str, Any]) -> None:
    assert parse_database_url(f"postgresql://u@h/db?{query}").connect_args() == args


@pytest.mark.parametrize("name", ["sslrootcert", "sslcert", "sslkey", "sslcrl"])
@pytest.mark.parametrize("mode", [None, "allow", "prefer", "require", "verify-ca", "verify-full"])
def test_a_missing_file_is_invalid_input_naming_the_parameter(
    name: str, mode: str | None, certs: dict[str, str], tmp_path: Path
) -> None:
    params = {**certs, name: str(tmp_path / "missing.pem")}
    if mode is not None:
        params["sslmode"] = mode
    url = DatabaseUrl(engine="postgresql", host="h", params=params)
    with pytest.raises(InvalidDatabaseUrl) as caught:
        url.connect_args()
    assert caught.value.detail == f"the {name} file does not exist or cannot be read"


def test_a_directory_is_not_a_certificate_file(tmp_path: Path) -> None:
    url = DatabaseUrl(engine="postgresql", params={"sslrootcert": str(tmp_path)})
    with pytest.raises(InvalidDatabaseUrl, match="sslrootcert file does not exist"):
        url.connect_args()


@pytest.mark.parametrize("mode", ["verify-ca", "verify-full"])
def test_verifying_without_a_root_certificate_says_which_parameter_to_add(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGSSLROOTCERT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    url = parse_database_url(f"postgresql://u@h/db?sslmode={mode}")
    with pytest.raises(InvalidDatabaseUrl) as caught:
        url.connect_args()
    assert caught.value.detail == (
        f"sslmode={mode} needs the server's CA certificate: add sslrootcert=/path/to/ca.pem "
        "(or sslrootcert=system for the system's CAs)"
    )
    # asyncpg's own fallbacks count: ~/.postgresql/root.crt, then $PGSSLROOTCERT.
    (tmp_path / ".postgresql").mkdir()
    (tmp_path / ".postgresql" / "root.crt").write_text("ca\n", encoding="utf-8")
    assert url.connect_args() == {"ssl": mode}
    monkeypatch.setenv("PGSSLROOTCERT", str(tmp_path / "absent.crt"))
    with pytest.raises(InvalidDatabaseUrl):
        url.connect_args()
    monkeypatch.setenv("PGSSLROOTCERT", str(tmp_path / ".postgresql" / "root.crt"))
    monkeypatch.setenv("HOME", str(tmp_path / "nowhere"))
    assert url.connect_args() == {"ssl": mode}


def test_require_does_not_need_a_root_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGSSLROOTCERT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_database_url("postgresql://h/db?sslmode=require").connect_args() == {
        "ssl": "require"
    }


def test_sslrootcert_system_is_a_verifying_context_on_the_system_cas() -> None:
    url = parse_database_url("postgresql://u@h/db?sslrootcert=system&connect_timeout=5")
    args = url.connect_args()
    context = args.pop("ssl")
    assert args == {"timeout": 5.0}
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_sslrootcert_system_with_an_unloadable_client_certificate(
    certs: dict[str, str],
) -> None:
    url = DatabaseUrl(
        engine="postgresql",
        params={"sslrootcert": "system", "sslmode": "verify-full", "sslcert": certs["sslcert"]},
    )
    with pytest.raises(InvalidDatabaseUrl) as caught:
        url.connect_args()
    assert caught.value.detail == (
        "the sslcert, sslkey or sslcrl file could not be loaded "
        "(wrong format, or a wrong sslpassword)"
    )
    crl = DatabaseUrl(
        engine="postgresql",
        params={"sslrootcert": "system", "sslmode": "verify-full", "sslcrl": certs["sslcrl"]},
    )
    with pytest.raises(InvalidDatabaseUrl):
        crl.connect_args()


def test_libpq_environment_has_every_part_for_psql() -> None:
    url = parse_database_url(
        f"postgresql://u%40x:{quote(NASTY, safe='')}@db.internal:6432/my%20db?sslmode=verify-full"
        "&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem&sslcrl=/crl.pem&sslpassword=kp"
        "&connect_timeout=9&application_name=ops"
    )
    assert url.libpq_environment() == {
        "PGHOST": "db.internal",
        "PGPORT": "6432",
        "PGUSER": "u@x",
        "PGPASSWORD": NASTY,
        "PGDATABASE": "my db",
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": "/ca.pem",
        "PGSSLCERT": "/c.pem",
        "PGSSLKEY": "/k.pem",
        "PGSSLCRL": "/crl.pem",
        "PGCONNECT_TIMEOUT": "9",
        "PGAPPNAME": "ops",
    }


@pytest.mark.parametrize(
    ("raw", "env"),
    [
        pytest.param("postgresql://", {}, id="nothing"),
        pytest.param(
            "postgresql:///db?host=/run/postgresql",
            {"PGHOST": "/run/postgresql", "PGDATABASE": "db"},
            id="socket",
        ),
        pytest.param("postgresql://[::1]", {"PGHOST": "::1"}, id="ipv6-without-brackets"),
    ],
)
def test_libpq_environment_sets_only_what_the_url_says(raw: str, env: dict[str, str]) -> None:
    assert parse_database_url(raw).libpq_environment() == env
