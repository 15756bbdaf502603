"""Redaction of free text and settings: known secrets masked in text (repeated, overlapping,
nested, percent-encoded) together with the URLs in it, and secret settings recognised by name.
Exact outputs, so that any change to the rules shows.

Part of the mutation run of ``backend.app.core.redaction`` (see ``test_redaction_urls.py``).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.app.core.redaction import (
    MASK,
    SECRET_NAME_SUFFIXES,
    URL_PASSWORD_MASK,
    is_secret_name,
    redact_text,
)
from tests.unit.redaction_cases import CANARY, SECRETS, leaked


def test_the_masks() -> None:
    assert MASK == "**********"
    assert URL_PASSWORD_MASK == "***"
    assert SECRET_NAME_SUFFIXES == ("secret", "password", "token", "key", "pepper")


# -- redact_text ---------------------------------------------------------------------------------

REDACTED = [
    pytest.param("failed for hunter2pw!", ["hunter2pw"], "failed for **********!", id="one"),
    pytest.param("pw1234 and pw1234", ["pw1234"], "********** and **********", id="repeated"),
    pytest.param("aaaaa", ["aaaa"], "**********", id="overlapping-occurrences"),
    pytest.param(
        "token abcdefgh and abcd",
        ["abcd", "abcdefgh"],
        "token ********** and **********",
        id="secret-inside-secret",
    ),
    pytest.param(
        "token abcdefgh and abcd",
        ["abcdefgh", "abcd"],
        "token ********** and **********",
        id="secret-inside-secret-other-order",
    ),
    pytest.param("xxABCDEFyy", ["ABCDE", "CDEF"], "xx**********yy", id="overlapping-secrets"),
    pytest.param("xxCDEFGHyy", ["CDEF", "EFGH"], "xx**********yy", id="overlapping-the-other-way"),
    pytest.param("ABCDWXYZ!", ["ABCD", "WXYZ"], "**********!", id="adjacent-secrets"),
    pytest.param("ABCD-WXYZ", ["ABCD", "WXYZ"], "**********-**********", id="apart"),
    pytest.param(
        "AAAA-BBBBCC", ["AAAA", "BBBB", "BBCC"], "**********-**********", id="apart-then-overlap"
    ),
    pytest.param(
        "AAAA-PQRSTUVW",
        ["AAAA", "PQRSTUVW", "QRST"],
        "**********-**********",
        id="apart-then-nested",
    ),
    pytest.param("bad a%2Fb%2Fc", ["a/b/c"], "bad **********", id="slash-encoded-secret"),
    pytest.param(
        "bad pw\udcff\udcfe! pw%FF%FE%21!",
        ["pw\udcff\udcfe!"],
        "bad ********** **********!",
        id="undecodable-bytes-secret",
    ),
    pytest.param("bad pw\ud800x!", ["pw\ud800x"], "bad **********!", id="lone-surrogate-secret"),
    pytest.param("the abc and abcd", ["abc"], "the abc and abcd", id="short-secret-kept"),
    pytest.param("the abcd", ["abcd"], "the **********", id="four-characters-masked"),
    pytest.param("nothing here", ["", "absent"], "nothing here", id="empty-and-absent"),
    pytest.param("bad p%40ss%3Aword", ["p@ss:word"], "bad **********", id="percent-encoded-secret"),
    pytest.param("bad my+secret", ["my secret"], "bad **********", id="plus-encoded-secret"),
    pytest.param("bad my%20secret", ["my secret"], "bad **********", id="space-encoded-secret"),
    pytest.param(
        f"could not connect to postgresql://u:{CANARY}@h/db: refused",
        [],
        "could not connect to postgresql://u:***@h/db: refused",
        id="url-in-text",
    ),
    pytest.param(
        f"a postgresql://u:{CANARY}@h/db b sqlite:///x c redis://:{CANARY}@r/0",
        [],
        "a postgresql://u:***@h/db b sqlite:///x c redis://:***@r/0",
        id="several-urls",
    ),
    pytest.param(
        f"url postgresql://admin:{CANARY}/prod failed",
        [],
        "url postgresql://admin:***/prod failed",
        id="url-without-at-in-text",
    ),
    pytest.param(
        f"(postgresql://u@h/db?password={CANARY}) x",
        [],
        "(postgresql://u@h/db?password=*** x",
        id="query-password-in-text",
    ),
    pytest.param(
        f"postgresql://u:{CANARY}@h/db and {CANARY}",
        [CANARY],
        "postgresql://u:***@h/db and **********",
        id="secret-and-url",
    ),
    pytest.param("user:pw@host here", [], "user:pw@host here", id="no-scheme-in-text-kept"),
]


@pytest.mark.parametrize(("text", "secrets", "redacted"), REDACTED)
def test_redact_text(text: str, secrets: list[str], redacted: str) -> None:
    assert redact_text(text, secrets) == redacted


def test_redact_text_masks_urls_without_being_given_secrets() -> None:
    assert redact_text(f"at postgresql://u:{CANARY}@h/db") == "at postgresql://u:***@h/db"


def test_redact_text_takes_any_iterable_of_secrets() -> None:
    assert redact_text("a secret1 b", (s for s in ["secret1"])) == "a ********** b"


@pytest.mark.parametrize("secret", SECRETS)
def test_no_piece_of_a_known_secret_survives_in_text(secret: str) -> None:
    template = "login failed for {} (password {}, url postgresql://u:{}@h/db)"
    text = template.format(secret, secret, secret)
    assert leaked(secret, redact_text(text, [secret]), context=template) == []


@given(
    secrets=st.lists(st.text(alphabet="abAB12", min_size=4, max_size=8), min_size=1, max_size=4),
    noise=st.text(alphabet="xyz ", max_size=6),
)
def test_no_known_secret_survives_however_they_overlap(secrets: list[str], noise: str) -> None:
    text = noise.join(secrets) + noise + "".join(reversed(secrets))
    redacted = redact_text(text, secrets)
    assert not set(redacted) & set("abAB12")


# -- is_secret_name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "secret",
        "password",
        "token",
        "key",
        "pepper",
        "PASSWORD",
        "admin_password",
        "admin-password",
        "Admin-Password",
        "secret_key",
        "api_keys.pepper",
        "github_token",
        "a.b.secret",
        "passwords.key",
    ],
)
def test_a_secret_name(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "database_url",
        "admin_email",
        "passwords.min_length",
        "api_keys.prefix",
        "monkey",
        "keys",
        "tokenizer",
        "secretary",
        "secret.name",
        "password_policy",
        "adminpassword",
    ],
)
def test_not_a_secret_name(name: str) -> None:
    assert not is_secret_name(name)
