"""Domain values: validated and normalised once, here, before anything is stored or looked up.

The CLI parses its flags into these types; services take only these types. Errors name the
field (``{field}`` is filled in by whoever shows the message: a flag for the CLI).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

from backend.app.errors import InvalidInput, quote


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class StatusFilter(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    ALL = "all"


class OwnerKind(StrEnum):
    USER = "user"
    ACCOUNT = "account"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    OWNER_INACTIVE = "owner inactive"


# RFC 5321 limits; the local part is the RFC 5322 dot-atom (no quoted strings, no comments).
MAX_EMAIL = 254
MAX_LOCAL = 64
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_SCOPE = re.compile(r"[a-z][a-z0-9_.:-]{0,63}|\*")
MAX_SCOPES = 64


class Email(str):
    """An address in its canonical form: trimmed, lower case, IDNA domain.

    Uniqueness is case-insensitive because only this form is ever stored or looked up.
    """

    __slots__ = ()

    @classmethod
    def parse(cls, value: str) -> Email:
        email = value.strip()
        if len(email) > MAX_EMAIL:
            raise InvalidInput(f"invalid email {quote(value)}: longer than {MAX_EMAIL} characters")
        local, at, domain = email.rpartition("@")
        if not at or not local or not domain:
            raise InvalidInput(f"invalid email {quote(value)}: expected name@domain")
        if len(local) > MAX_LOCAL:
            raise InvalidInput(
                f"invalid email {quote(value)}: longer than {MAX_LOCAL} characters before the @"
            )
        if not _LOCAL.fullmatch(local):
            raise InvalidInput(f"invalid email {quote(value)}: bad characters before the @")
        email = f"{local.lower()}@{_domain(domain, value)}"
        if len(email) > MAX_EMAIL:
            raise InvalidInput(f"invalid email {quote(value)}: longer than {MAX_EMAIL} characters")
        return cls(email)


def _domain(domain: str, original: str) -> str:
    domain = domain.lower().rstrip(".")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidInput(f"invalid email {quote(original)}: bad domain") from None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(f"invalid email {quote(original)}: bad domain")
    if labels[-1].isdigit():
        raise InvalidInput(f"invalid email {quote(original)}: bad domain")
    return domain


class AccountName(str):
    """A service account name: a slug of lower-case letters, digits and inner hyphens, 1-64."""

    __slots__ = ()

    @classmethod
    def parse(cls, value: str) -> AccountName:
        name = value.strip().lower()
        if not _SLUG.fullmatch(name):
            raise InvalidInput(
                f"invalid account name {quote(value)}: use 1-64 lower-case letters, digits and "
                "hyphens, starting and ending with a letter or digit (e.g. ci-deploy)"
            )
        return cls(name)


E = TypeVar("E", bound=StrEnum)


def parse_enum(kind: type[E], value: str, *, field: str) -> E:
    """A choice such as a role or a status, case-insensitive."""
    try:
        return kind(value.strip().lower())
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidInput(f"invalid {field} {quote(value)}: use one of {choices}") from None


def parse_text(value: str | None, *, field: str, limit: int) -> str | None:
    """A free-text field (a display name, a description): printable, trimmed, bounded."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        raise InvalidInput(f"{{field}} is longer than {limit} characters", field=field)
    if not text.isprintable():
        raise InvalidInput("{field} contains control characters", field=field)
    return text


def parse_scopes(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Scopes like ``users:read``: validated, de-duplicated, sorted. An empty one is an error."""
    scopes = set()
    for value in values:
        for part in value.split(","):
            scope = part.strip().lower()
            if not _SCOPE.fullmatch(scope):
                raise InvalidInput(
                    f"invalid scope {quote(scope)}: use lower-case letters, digits and _.:- "
                    "(e.g. users:read), or *"
                )
            scopes.add(scope)
    if len(scopes) > MAX_SCOPES:
        raise InvalidInput(f"at most {MAX_SCOPES} scopes per key")
    return tuple(sorted(scopes))


def parse_count(value: str, *, field: str, maximum: int = 10_000_000) -> int:
    """A positive whole number given as text (a row limit)."""
    text = value.strip()
    # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
    if not (text.isascii() and text.isdigit() and len(text) <= 12) or not 1 <= int(text) <= maximum:
        raise InvalidInput(f"{{field}} must be a whole number from 1 to {maximum}", field=field)
    return int(text)


def parse_id(value: str, *, what: str) -> int:
    """A numeric id given as text."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
        raise InvalidInput(f"invalid {what} id {quote(value)}: expected a positive number")
    return int(text)
