"""API key format: ``<prefix><32 random base62 chars><6-char base62 CRC32>`` (e.g. ``bk_...``).

GitHub-style: the prefix makes keys recognisable (to people and to secret scanners), the 190 bits
from ``secrets`` make them unguessable, and the checksum rejects a mistyped or truncated key
before any database lookup. At rest only a SHA-256 digest is kept (HMAC-SHA-256 when a pepper
is configured): fast to compute, so verification costs one indexed lookup, and useless to anyone
who reads the table.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

from backend.app.errors import MalformedKey

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BODY_LENGTH = 32  # 32 * log2(62) = 190 bits of randomness
CHECKSUM_LENGTH = 6  # 62**6 > 2**32: any CRC32 fits
DISPLAY_LENGTH = 8  # characters of the body shown in lists; the other 24 (143 bits) stay secret
_KEY = re.compile(
    rf"(?P<prefix>[a-z][a-z0-9]{{0,15}}_)(?P<body>[0-9A-Za-z]{{{BODY_LENGTH}}})"
    rf"(?P<checksum>[0-9A-Za-z]{{{CHECKSUM_LENGTH}}})"
)


@dataclass(frozen=True)
class ParsedKey:
    """A key whose format and checksum are right. ``value`` is the whole key: handle with care."""

    value: str
    prefix: str

    def __repr__(self) -> str:  # never print the key by accident
        return f"ParsedKey(prefix={self.prefix!r}, display={display_prefix(self.value)!r})"


def _base62(number: int, width: int) -> str:
    chars = []
    while number:
        number, remainder = divmod(number, 62)
        chars.append(BASE62[remainder])
    return "".join(reversed(chars)).rjust(width, "0")


def checksum(text: str) -> str:
    return _base62(zlib.crc32(text.encode("ascii")), CHECKSUM_LENGTH)


def generate_key(prefix: str) -> str:
    body = "".join(secrets.choice(BASE62) for _ in range(BODY_LENGTH))
    return f"{prefix}{body}{checksum(prefix + body)}"


def parse_key(raw: str) -> ParsedKey:
    """Check shape and checksum without touching the database; MalformedKey if either fails.

    Any well-formed prefix is accepted, so changing the configured prefix does not orphan keys.
    """
    key = raw.strip()
    match = _KEY.fullmatch(key)
    if match is None:
        raise MalformedKey("malformed API key: not in the <prefix>_<38 characters> format")
    if not hmac.compare_digest(checksum(match["prefix"] + match["body"]), match["checksum"]):
        raise MalformedKey("malformed API key: the checksum does not match (mistyped or truncated)")
    return ParsedKey(value=key, prefix=match["prefix"])


def digest(key: str, pepper: bytes | None = None) -> str:
    """What is stored and looked up: hex SHA-256, or HMAC-SHA-256 keyed with the pepper."""
    data = key.encode("ascii")
    if pepper:
        return hmac.new(pepper, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def display_prefix(key: str) -> str:
    """The prefix and the first characters of the body: shown in lists, safe to log."""
    underscore = key.index("_")
    return key[: underscore + 1 + DISPLAY_LENGTH]
