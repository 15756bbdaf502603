"""Redaction of URLs: a URL's password masked whatever the URL's shape (userinfo, no ``@host``,
an odd port, query parameters naming a password), with exact outputs so that any change to the
rules shows, and no piece of any password left, for given and generated passwords.

The mutation run of ``backend.app.core.redaction`` executes this file with
``test_redaction_text.py``.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.app.core.redaction import mask_url
from tests.unit.redaction_cases import CANARY, NASTY, SECRETS, leaked

# -- mask_url ------------------------------------------------------------------------------------

MASKED = [
    # user:password@host
    pytest.param(
        f"postgresql://u:{CANARY}@h:5432/db", "postgresql://u:***@h:5432/db", id="password"
    ),
    pytest.param(
        f"postgresql+asyncpg://app:{CANARY}@db.internal/app",
        "postgresql+asyncpg://app:***@db.internal/app",
        id="async-driver",
    ),
    pytest.param("postgresql://app:p@ssword@h/db", "postgresql://app:***@h/db", id="at-in-pw"),
    pytest.param(f"postgresql://app:{NASTY}@h/db", "postgresql://app:***@h/db", id="nasty-pw"),
    pytest.param("postgresql://app:hunter2:pw@h/db", "postgresql://app:***@h/db", id="colon-in-pw"),
    pytest.param(
        "postgresql://app:a%40b%3Ac%2Fd@h/db", "postgresql://app:***@h/db", id="encoded-pw"
    ),
    pytest.param(f"postgresql://:{CANARY}@h/db", "postgresql://:***@h/db", id="no-user"),
    pytest.param("postgresql://u:@h/db", "postgresql://u:***@h/db", id="empty-password"),
    pytest.param("postgresql://a@b:pw@h/db", "postgresql://a@b:***@h/db", id="at-in-user"),
    pytest.param(f"redis://:{CANARY}@cache:6379/0", "redis://:***@cache:6379/0", id="other-scheme"),
    pytest.param(f"u:{CANARY}@db.internal/app", "u:***@db.internal/app", id="no-scheme-with-at"),
    # no password to mask
    pytest.param("postgresql://u@h:5432/db", "postgresql://u@h:5432/db", id="user-only"),
    pytest.param("postgresql://db.internal/app", "postgresql://db.internal/app", id="host-only"),
    pytest.param("postgresql://h:5432/db", "postgresql://h:5432/db", id="port"),
    pytest.param("postgresql://h:00080/db", "postgresql://h:00080/db", id="port-five-digits"),
    pytest.param("postgresql://h:1/db", "postgresql://h:1/db", id="port-1"),
    pytest.param("postgresql://h:65535/db", "postgresql://h:65535/db", id="port-65535"),
    pytest.param("postgresql://h:/db", "postgresql://h:/db", id="empty-port"),
    pytest.param("postgresql://[::1]:5432/db", "postgresql://[::1]:5432/db", id="ipv6-port"),
    pytest.param("postgresql://[::]:5432/db", "postgresql://[::]:5432/db", id="ipv6-any-port"),
    pytest.param("postgresql://[::1]/db", "postgresql://[::1]/db", id="ipv6"),
    pytest.param("http://example.com:8080/x", "http://example.com:8080/x", id="http-port"),
    pytest.param(
        "sqlite+aiosqlite:////srv/app.sqlite", "sqlite+aiosqlite:////srv/app.sqlite", id="sqlite"
    ),
    pytest.param(
        "sqlite:///file:/srv/a:b.sqlite?mode=ro",
        "sqlite:///file:/srv/a:b.sqlite?mode=ro",
        id="sqlite-file-uri",
    ),
    pytest.param("(not set)", "(not set)", id="not-a-url"),
    pytest.param("C:secret", "C:secret", id="no-scheme-no-at"),
    pytest.param("user@h:pw", "user@h:pw", id="no-scheme-no-password"),
    pytest.param("", "", id="empty"),
    # no '@': after scheme://name: up to the next '/' could be a password
    pytest.param(f"postgresql://admin:{CANARY}/prod", "postgresql://admin:***/prod", id="no-at"),
    pytest.param(f"postgresql://admin:{CANARY}", "postgresql://admin:***", id="no-at-no-path"),
    pytest.param(
        f"postgresql://admin:{CANARY}?sslmode=require",
        "postgresql://admin:***",
        id="no-at-query",
    ),
    pytest.param("postgresql://admin:p?ss:w/db", "postgresql://admin:***/db", id="no-at-odd"),
    pytest.param("postgresql://h:0/db", "postgresql://h:***/db", id="port-0"),
    pytest.param("postgresql://h:65536/db", "postgresql://h:***/db", id="port-65536"),
    pytest.param("postgresql://h:123456/db", "postgresql://h:***/db", id="port-six-digits"),
    pytest.param("postgresql://h:000080/db", "postgresql://h:***/db", id="small-six-digits"),
    pytest.param(f"postgresql://:{CANARY}/db", "postgresql://:***/db", id="no-name-no-at"),
    pytest.param("postgresql://@h:pw/db", "postgresql://@h:***/db", id="empty-userinfo"),
    pytest.param("postgresql://u@h:pw/db", "postgresql://u@h:***/db", id="user-and-odd-port"),
    pytest.param("postgresql://u@h:5432", "postgresql://u@h:5432", id="user-port-no-path"),
    pytest.param("postgresql://h:\u0661\u0662/db", "postgresql://h:***/db", id="arabic-digits"),
    pytest.param("postgresql://[::1]:pw/db", "postgresql://[::1]:***/db", id="ipv6-password"),
    pytest.param("postgresql://[::1/db", "postgresql://[:***/db", id="unclosed-bracket"),
    # query parameters whose name holds "password"
    pytest.param(
        f"postgresql://u@h/db?password={CANARY}", "postgresql://u@h/db?password=***", id="query"
    ),
    pytest.param(
        f"postgresql://u@h/db?PASSWORD={CANARY}", "postgresql://u@h/db?PASSWORD=***", id="caps"
    ),
    pytest.param(
        f"postgresql://u@h/db?sslpassword={CANARY}&sslmode=require",
        "postgresql://u@h/db?sslpassword=***&sslmode=require",
        id="sslpassword",
    ),
    pytest.param(
        f"postgresql://u@h/db?application_name=x&Password={CANARY}&port=5",
        "postgresql://u@h/db?application_name=x&Password=***&port=5",
        id="second-parameter",
    ),
    pytest.param(
        f"postgresql://h/db?password={NASTY}&rd?x&sslmode=require",
        "postgresql://h/db?password=***&sslmode=require",
        id="query-nasty-and-ampersand",
    ),
    pytest.param(
        "postgresql://h/db?password=p@ss", "postgresql://h/db?password=***", id="query-at"
    ),
    pytest.param(
        "postgresql://h/db?password=a b&x=1", "postgresql://h/db?password=***&x=1", id="space"
    ),
    pytest.param("postgresql://h/db?password=", "postgresql://h/db?password=***", id="empty-q"),
    pytest.param(
        f"postgresql://u:{CANARY}@h/db?password={CANARY}",
        "postgresql://u:***@h/db?password=***",
        id="both",
    ),
    pytest.param(
        "postgresql://h/db?passwords=1", "postgresql://h/db?passwords=***", id="name-holding"
    ),
    pytest.param("postgresql://h/db?pass=1", "postgresql://h/db?pass=1", id="not-a-password"),
    # in doubt, more is masked
    pytest.param(
        "postgresql://h/db?application_name=a:b@c",
        "postgresql://h/db?application_name=a:***@c",
        id="at-in-query-masks-more",
    ),
]


@pytest.mark.parametrize(("url", "masked"), MASKED)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize(
    "shape",
    [
        "postgresql://app:{}@db.internal:5432/app",
        "postgresql+asyncpg://app:{}@db.internal/app?sslmode=require",
        "postgresql://admin:{}",
        "postgresql://app@db.internal/app?password={}",
        "postgresql://app@db.internal/app?PASSWORD={}&sslmode=require",
        "postgresql://app@db.internal/app?sslpassword={}",
        "app:{}@db.internal/app",
    ],
)
def test_no_piece_of_a_password_survives_masking(secret: str, shape: str) -> None:
    if "@" in secret and "@" not in shape:
        # user:p@ssword with no host is user:p at host "ssword": nothing can tell them apart.
        return
    url = shape.format(secret)
    assert leaked(secret, mask_url(url), context=shape) == []


def test_a_password_without_at_host_hides_up_to_the_next_slash() -> None:
    assert leaked(CANARY, mask_url(f"postgresql://admin:{CANARY}/prod")) == []


@given(password=st.text(alphabet=string.printable.strip(), min_size=3, max_size=30))
def test_any_userinfo_password_is_masked(password: str) -> None:
    url = f"postgresql://user:{password}@db.internal:5432/app"
    masked = mask_url(url)
    assert leaked(password, masked, context="postgresql://user:@db.internal:5432/app") == []


@given(password=st.text(alphabet=string.printable.strip().replace("&", ""), max_size=30))
def test_any_query_password_is_masked_whole(password: str) -> None:
    url = f"postgresql://u@h/db?sslmode=require&password={password}&application_name=x"
    assert mask_url(url) == "postgresql://u@h/db?sslmode=require&password=***&application_name=x"
