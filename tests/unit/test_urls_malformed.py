"""A malformed URL is invalid input naming the bad part, and never echoes its password."""

from __future__ import annotations

import string
from dataclasses import replace

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from backend.app.core.urls import (
    InvalidDatabaseUrl,
    parse_database_url,
)
from backend.app.errors import INVALID_INPUT, InvalidInput
from tests.unit.url_cases import BAD, BAD_PORT, CANARY, assert_no_piece_of, parse_error, pieces


@pytest.mark.parametrize(("raw", "detail"), BAD)
def test_a_malformed_url_is_invalid_input_naming_the_bad_part(raw: str, detail: str) -> None:
    error = parse_error(raw)
    assert isinstance(error, InvalidInput)
    assert error.exit_code == INVALID_INPUT
    assert error.detail == detail
    assert str(error) == f"invalid database_url: {detail}"
    assert error.field == "database_url"
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert_no_piece_of(CANARY, str(error))
    if raw.strip():
        assert raw.strip() not in str(error)


def test_the_setting_named_in_messages_can_be_another() -> None:
    with pytest.raises(InvalidDatabaseUrl) as caught:
        parse_database_url("postgresql://u@h:0/db", setting="BACKEND_TEST_POSTGRES_URL")
    assert str(caught.value) == f"invalid BACKEND_TEST_POSTGRES_URL: {BAD_PORT}"
    assert caught.value.field == "BACKEND_TEST_POSTGRES_URL"


MESSAGES = " ".join(str(case.values[1]) for case in BAD)


@given(
    password=st.text(alphabet=string.ascii_uppercase + string.digits + "@:/?#%&=[]+ é", min_size=6)
)
# Found by hypothesis 6.100 (the floors run): no '@', so "admin:" read as a host and an empty
# port, and the password's tail as a query whose parameter name the message echoed.
@example(password="?A000=")
@example(password="12?AB=1")
def test_no_malformed_url_echoes_any_piece_of_its_password(password: str) -> None:
    for shape in (
        "postgresql://admin:{}/prod",
        "postgresql://admin:{}@h:x/db",
        "postgresql://admin:{}@h/db?bogus=1",
        "postgresql://admin:{}@[::1/db",
        "postgresql://u@h/db?password={}&nope=1",
        "postgresql://u@h/db?application_name=x&password={}&x=1",
        "postgresql://u@h/db?sslpassword={}&sslmode=x",
    ):
        url = shape.format(password)
        message = None
        try:
            parsed = parse_database_url(url)
        except InvalidDatabaseUrl as error:
            message = str(error)
        if message is None:
            # It parsed (an '@' in the "password" made the rest a host): what is shown must not
            # depend on what it parsed as passwords.
            params = {k: "x" if "password" in k else v for k, v in parsed.params.items()}
            stand_in = replace(parsed, password=parsed.password and "x", params=params)
            assert parsed.masked() == stand_in.masked(), url
            assert repr(parsed) == repr(stand_in), url
            continue
        elsewhere = url.replace(password, " ") + MESSAGES
        for piece in pieces(password, 4):
            if piece not in elsewhere:
                assert piece not in message, (url, message)
