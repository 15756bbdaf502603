"""Shared cases of the redaction tests: the passwords masking must hide, and a check that no
3-character piece of one shows."""

from __future__ import annotations

CANARY = "CANARYpw"
# Every character with a meaning in a URL, unencoded.
NASTY = "p@ss:w/rd?x#y%z"
# Passwords that masking must never let any piece of through.
SECRETS = (CANARY, NASTY, "p@ssword", "hunter2:pw", "a%40b%3Ac%2Fd")


def pieces(secret: str, size: int = 3) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def leaked(secret: str, shown: str, context: str = "") -> list[str]:
    """The 3-character pieces of ``secret`` in ``shown`` that ``context`` does not explain."""
    return [piece for piece in pieces(secret) if piece in shown and piece not in context]
