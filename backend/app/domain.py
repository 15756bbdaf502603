"""Domain values: validated and normalised once, here, before anything is stored or looked up."""

from __future__ import annotations

import re

from backend.app.errors import InvalidInput, quote

ROLES = ("admin", "member")
USER_STATUSES = ("active", "inactive", "all")

# RFC 5321 limits; the local part is the RFC 5322 dot-atom (no quoted strings, no comments).
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_SCOPE = re.compile(r"[a-z][a-z0-9_.:-]{0,63}|\*")


def normalize_email(value: str) -> str:
    """Validate an address and return its canonical form: trimmed, lower case, IDNA domain.

    Uniqueness is case-insensitive because only this form is ever stored or looked up.
    """
    email = value.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        raise InvalidInput(f"invalid email {quote(value)}: expected name@domain")
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        raise InvalidInput(f"invalid email {quote(value)}: bad characters before the @")
    domain = _normalize_domain(domain, value)
    email = f"{local.lower()}@{domain}"
    if len(email) > 254:
        raise InvalidInput(f"invalid email {quote(value)}: longer than 254 characters")
    return email


def _normalize_domain(domain: str, original: str) -> str:
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


def normalize_role(value: str) -> str:
    role = value.strip().lower()
    if role not in ROLES:
        raise InvalidInput(f"invalid role {quote(value)}: use one of {', '.join(ROLES)}")
    return role


def normalize_status(value: str) -> str:
    status = value.strip().lower()
    if status not in USER_STATUSES:
        raise InvalidInput(f"invalid status {quote(value)}: use one of {', '.join(USER_STATUSES)}")
    return status


def normalize_text(value: str | None, *, what: str, limit: int) -> str | None:
    """A free-text field (a display name, a description): printable, trimmed, bounded."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    if not text.isprintable():
        raise InvalidInput(f"{what} contains control characters")
    return text


def normalize_account_name(value: str) -> str:
    """A service account name is a slug: lower-case letters, digits and inner hyphens, 1-64."""
    name = value.strip().lower()
    if not _SLUG.fullmatch(name):
        raise InvalidInput(
            f"invalid account name {quote(value)}: use 1-64 lower-case letters, digits and "
            "hyphens, starting and ending with a letter or digit (e.g. ci-deploy)"
        )
    return name


def normalize_scopes(values: list[str] | tuple[str, ...]) -> list[str]:
    """Scopes like ``users:read``: validated, de-duplicated, sorted."""
    scopes = set()
    for value in values:
        for part in value.split(","):
            scope = part.strip().lower()
            if not scope:
                continue
            if not _SCOPE.fullmatch(scope):
                raise InvalidInput(
                    f"invalid scope {quote(scope)}: use lower-case letters, digits and _.:- "
                    "(e.g. users:read), or *"
                )
            scopes.add(scope)
    if len(scopes) > 64:
        raise InvalidInput("at most 64 scopes per key")
    return sorted(scopes)


def parse_limit(
    value: str | None, *, flag: str = "--limit", maximum: int = 10_000_000
) -> int | None:
    """A positive row limit given as text (invoke would traceback on a typed flag).

    None means not given; anything else, the empty string included, must be a number.
    """
    if value is None:
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 12) or not 1 <= int(text) <= maximum:
        raise InvalidInput(f"{flag} must be a whole number from 1 to {maximum}")
    return int(text)


def parse_id(value: str, *, what: str) -> int:
    """A numeric id given as text."""
    text = value.strip()
    # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
        raise InvalidInput(f"invalid {what} id {quote(value)}: expected a positive number")
    return int(text)
