"""Keep secrets out of everything a human or a log can read.

Cheap to import (stdlib only): the CLI uses it on error paths before anything heavy is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "**********"
URL_PASSWORD_MASK = "***"  # noqa: S105 (the mask, not a password)

# Settings whose name ends like this are secrets even when they are not typed SecretStr.
SECRET_NAME_SUFFIXES = ("secret", "password", "token", "key", "pepper")


def is_secret_name(name: str) -> bool:
    """Whether a setting called ``name`` holds a secret, judged by its name alone."""
    last = name.lower().replace("-", "_").rsplit(".", 1)[-1]
    return any(last == s or last.endswith("_" + s) for s in SECRET_NAME_SUFFIXES)


# asyncpg (and libpq) also take the password as a query parameter: ?password=...
_QUERY_PASSWORD = re.compile(r"([?&][a-z_]*password=)[^&#\s]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """Return ``url`` with every password masked: ``user:***@host`` and ``?password=***``."""
    url = _QUERY_PASSWORD.sub(lambda m: m.group(1) + URL_PASSWORD_MASK, url)
    if "://" not in url or "@" not in url:
        return url
    scheme_end = url.index("://") + 3
    at = url.rfind("@")
    authority_user = url[scheme_end:at]
    if ":" not in authority_user or "/" in authority_user.split(":", 1)[0]:
        return url
    user = authority_user.split(":", 1)[0]
    return f"{url[:scheme_end]}{user}:{URL_PASSWORD_MASK}{url[at:]}"


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask URL passwords in ``text`` and replace every known secret value with a mask."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= 4:  # masking "a" everywhere would destroy the message, not protect it
            text = text.replace(secret, MASK)
    return _mask_urls_in_text(text)


def _mask_urls_in_text(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        return mask_url(match.group(0))

    return re.sub(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://\S+", repl, text)
