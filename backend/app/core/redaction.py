"""Keep secrets out of everything a human or a log can read.

When a text's shape is in doubt, more is masked rather than less: a URL that does not parse
cleanly still has every piece that could be a password masked. Cheap to import (standard library
only): the CLI uses it on error paths before anything heavy is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from backend.app.core.urls import PASSWORD_MASK

MASK = "**********"
URL_PASSWORD_MASK = PASSWORD_MASK

# Settings whose name ends like this are secrets even when they are not typed SecretStr.
SECRET_NAME_SUFFIXES = ("secret", "password", "token", "key", "pepper")

# Masking "a" everywhere would destroy the message, not protect it.
MIN_SECRET_LENGTH = 4

# Any query parameter whose name holds "password" (password, PASSWORD, sslpassword...). Its value
# runs to the next "&name=", so an unencoded '&', '#' or '?' in it is masked too.
_QUERY_PASSWORD = re.compile(
    r"([?&][^=&\s]*password[^=&\s]*=)(?:[^&]|&(?![^=&\s]*=))*", re.IGNORECASE
)
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://\S+")


def is_secret_name(name: str) -> bool:
    """Whether a setting called ``name`` holds a secret, judged by its name alone."""
    last = name.lower().replace("-", "_").rpartition(".")[2]
    return any(last == s or last.endswith("_" + s) for s in SECRET_NAME_SUFFIXES)


def mask_url(url: str) -> str:
    """Return ``url`` with everything that could be a password masked.

    ``user:***@host``, where the password runs from the first ':' to the last '@' (a password
    may hold unencoded '@', ':', '/', '?' or '#'); ``?password=***`` for every parameter whose
    name holds "password"; and, for ``scheme://name:word/...`` with no '@' at all, ``word``
    unless it is a port number.
    """
    url = _QUERY_PASSWORD.sub(lambda m: m.group(1) + URL_PASSWORD_MASK, url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, hostport = rest.rpartition("@")
    if ":" in userinfo:
        user = userinfo.partition(":")[0]
        return f"{scheme}{sep}{user}:{URL_PASSWORD_MASK}{at}{hostport}"
    if not sep:
        return url
    return f"{scheme}{sep}{userinfo}{at}{_mask_after_name(hostport)}"


def _mask_after_name(rest: str) -> str:
    """``name:word/...`` with no '@' before it: ``word`` is a port, or a password that lost its
    ``@host``."""
    authority, slash, path = rest.partition("/")
    start = authority.find("]") + 1 if authority.startswith("[") else 0
    colon = authority.find(":", start)  # after an unclosed '[', its first ':'
    if colon < 0 or _is_port(authority[colon + 1 :]):
        return rest
    return authority[: colon + 1] + URL_PASSWORD_MASK + slash + path


def _is_port(text: str) -> bool:
    if not text:
        return True
    return text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= 65535


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask every known secret value in ``text``, then every URL password.

    A secret is also found percent-encoded (as it appears inside a URL). Where secrets overlap
    or one holds another, the whole stretch they cover becomes one mask, so no piece is left.
    """
    needles: set[str] = set()
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LENGTH:
            needles.add(secret)
            needles.update(_encoded(secret))
    spans: list[tuple[int, int]] = []
    for needle in needles:
        start = text.find(needle)
        while start >= 0:
            spans.append((start, start + len(needle)))
            start = text.find(needle, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    pieces: list[str] = []
    done = 0
    for start, end in merged:
        pieces += [text[done:start], MASK]
        done = end
    pieces.append(text[done:])
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), "".join(pieces))


def _encoded(secret: str) -> tuple[str, ...]:
    """``secret`` as it appears inside a URL. A secret read from a non-UTF-8 environment keeps
    its bytes as lone surrogates: those are encoded back to the bytes."""
    try:
        return (
            quote(secret, safe="", errors="surrogateescape"),
            quote_plus(secret, safe="", errors="surrogateescape"),
        )
    except UnicodeEncodeError:
        return ()
