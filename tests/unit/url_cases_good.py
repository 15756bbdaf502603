"""Shared cases of the URL tests: PostgreSQL URLs that parse, with their parts and normal form."""

from __future__ import annotations

import pytest

# -- PostgreSQL URLs that parse ------------------------------------------------------------------

PG_GOOD = [
    pytest.param(
        "postgresql://app:s3cret@db.internal:5432/app",
        {"user": "app", "password": "s3cret", "host": "db.internal", "port": 5432},
        "postgresql+asyncpg://app:s3cret@db.internal:5432/app",
        id="user-password-host-port-db",
    ),
    pytest.param(
        "postgres://u@db.internal/app",
        {"user": "u", "host": "db.internal", "database": "app"},
        "postgresql+asyncpg://u@db.internal/app",
        id="postgres-scheme",
    ),
    pytest.param(
        "POSTGRESQL+ASYNCPG://u@Db.Internal/app",
        {"host": "Db.Internal"},
        "postgresql+asyncpg://u@Db.Internal/app",
        id="scheme-in-capitals",
    ),
    pytest.param(
        "  postgresql://u@h/app\n",
        {"host": "h"},
        "postgresql+asyncpg://u@h/app",
        id="surrounding-whitespace",
    ),
    pytest.param(
        "postgresql://u:p%40%3A%2F%3F%23%25ss@h/app",
        {"password": "p@:/?#%ss"},
        "postgresql+asyncpg://u:p%40%3A%2F%3F%23%25ss@h/app",
        id="percent-encoded-password",
    ),
    pytest.param(
        "postgresql://u:p@ss@h/app",
        {"user": "u", "password": "p@ss", "host": "h"},
        "postgresql+asyncpg://u:p%40ss@h/app",
        id="unencoded-at-in-password",
    ),
    pytest.param(
        "postgresql://u:a:b:c@h/app",
        {"user": "u", "password": "a:b:c"},
        "postgresql+asyncpg://u:a%3Ab%3Ac@h/app",
        id="colons-in-password",
    ),
    pytest.param(
        "postgresql://u:@h/app",
        {"user": "u", "password": None},
        "postgresql+asyncpg://u@h/app",
        id="empty-password",
    ),
    pytest.param(
        "postgresql://:pw@h/app",
        {"user": None, "password": "pw"},
        "postgresql+asyncpg://:pw@h/app",
        id="password-without-user",
    ),
    pytest.param(
        "postgresql://us%40er@h/my%20db",
        {"user": "us@er", "database": "my db"},
        "postgresql+asyncpg://us%40er@h/my%20db",
        id="encoded-user-and-database",
    ),
    pytest.param(
        "postgresql://u@[::1]:6432/app",
        {"host": "::1", "port": 6432},
        "postgresql+asyncpg://u@[::1]:6432/app",
        id="ipv6",
    ),
    pytest.param(
        "postgresql://u@[fe80::1%25eth0]/app",
        {"host": "fe80::1%eth0"},
        "postgresql+asyncpg://u@[fe80::1%eth0]/app",
        id="ipv6-zone",
    ),
    pytest.param(
        "postgresql://u@127.0.0.1:1/app",
        {"host": "127.0.0.1", "port": 1},
        "postgresql+asyncpg://u@127.0.0.1:1/app",
        id="lowest-port",
    ),
    pytest.param(
        "postgresql://u@h:65535/app",
        {"port": 65535},
        "postgresql+asyncpg://u@h:65535/app",
        id="highest-port",
    ),
    pytest.param(
        "postgresql://u@h:/app",
        {"port": None},
        "postgresql+asyncpg://u@h/app",
        id="empty-port",
    ),
    pytest.param(
        "postgresql://:5433/app",
        {"host": None, "port": 5433},
        "postgresql+asyncpg://:5433/app",
        id="port-without-host",
    ),
    pytest.param(
        "postgresql://",
        {"user": None, "host": None, "port": None, "database": None},
        "postgresql+asyncpg://",
        id="all-defaults",
    ),
    pytest.param(
        "postgresql://u@h/",
        {"database": None},
        "postgresql+asyncpg://u@h",
        id="empty-database",
    ),
    pytest.param(
        "postgresql://db_1.internal/app",
        {"host": "db_1.internal", "user": None},
        "postgresql+asyncpg://db_1.internal/app",
        id="underscore-in-host",
    ),
    pytest.param(
        "postgresql:///app?host=/var/run/postgresql",
        {"host": "/var/run/postgresql", "port": None},
        "postgresql+asyncpg:///app?host=/var/run/postgresql",
        id="unix-socket-query",
    ),
    pytest.param(
        "postgresql://%2Fvar%2Frun%2Fpostgresql:5433/app",
        {"host": "/var/run/postgresql", "port": 5433},
        "postgresql+asyncpg:///app?host=/var/run/postgresql&port=5433",
        id="unix-socket-encoded-in-authority",
    ),
    pytest.param(
        "postgresql:///app?host=/nonexistent&port=5433",
        {"host": "/nonexistent", "port": 5433},
        "postgresql+asyncpg:///app?host=/nonexistent&port=5433",
        id="socket-that-may-not-exist",
    ),
    pytest.param(
        "postgresql:///app?host=db.internal&port=6432",
        {"host": "db.internal", "port": 6432},
        "postgresql+asyncpg://db.internal:6432/app",
        id="tcp-host-query",
    ),
    pytest.param(
        "postgresql:///?host=::1",
        {"host": "::1"},
        "postgresql+asyncpg://[::1]",
        id="ipv6-host-query",
    ),
    pytest.param(
        "postgresql:///?user=u&password=p%26w&dbname=app",
        {"user": "u", "password": "p&w", "database": "app"},
        "postgresql+asyncpg://u:p%26w@/app",
        id="user-password-dbname-query",
    ),
    pytest.param(
        "postgresql://u@h/app?host=&port=&user=&password=&dbname=",
        {"user": "u", "host": "h", "port": None, "password": None, "database": "app"},
        "postgresql+asyncpg://u@h/app",
        id="empty-query-values-are-absent",
    ),
    pytest.param(
        "postgresql://u@h/app?sslmode=verify-full&sslrootcert=/etc/ca.pem&sslcert=/c.pem"
        "&sslkey=/k.pem&sslcrl=/crl.pem&sslpassword=kp&connect_timeout=7"
        "&application_name=my%20app%2Bx",
        {
            "params": {
                "sslmode": "verify-full",
                "sslrootcert": "/etc/ca.pem",
                "sslcert": "/c.pem",
                "sslkey": "/k.pem",
                "sslcrl": "/crl.pem",
                "sslpassword": "kp",
                "connect_timeout": "7",
                "application_name": "my app+x",
            }
        },
        "postgresql+asyncpg://u@h/app?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        "&sslcert=/c.pem&sslkey=/k.pem&sslcrl=/crl.pem&sslpassword=kp&connect_timeout=7"
        "&application_name=my%20app%2Bx",
        id="every-libpq-parameter",
    ),
    pytest.param(
        "postgresql://u@h/app?ssl=require",
        {"params": {"sslmode": "require"}},
        "postgresql+asyncpg://u@h/app?sslmode=require",
        id="sqlalchemy-ssl-spelling",
    ),
    pytest.param(
        "postgresql://u@h/app?sslrootcert=system",
        {"params": {"sslrootcert": "system", "sslmode": "verify-full"}},
        "postgresql+asyncpg://u@h/app?sslrootcert=system&sslmode=verify-full",
        id="sslrootcert-system-implies-verify-full",
    ),
    pytest.param(
        "postgresql://u@h:5432?sslmode=disable",
        {"port": 5432, "database": None},
        "postgresql+asyncpg://u@h:5432/?sslmode=disable",
        id="query-without-database",
    ),
    pytest.param(
        "postgresql://u@h/app?&sslmode=disable&",
        {"params": {"sslmode": "disable"}},
        "postgresql+asyncpg://u@h/app?sslmode=disable",
        id="stray-ampersands",
    ),
    pytest.param(
        "postgresql://u@h/app?connect_timeout=3600",
        {"params": {"connect_timeout": "3600"}},
        "postgresql+asyncpg://u@h/app?connect_timeout=3600",
        id="longest-connect-timeout",
    ),
]
