"""Mutants that cannot change behaviour, per module, each with the reason why not.

:mod:`devtools.mutation` counts a survivor listed here as equivalent, not as a missing test, and
lists the entries that match no mutant any more (or whose mutant the tests now kill).
Keys are ``(scope, description)`` exactly as the mutation run prints them.
"""

from __future__ import annotations

# Mutants that cannot change behaviour, per module: (scope, description) -> why not.
_ANY_DUMMY = "any fixed dummy password will do: only the time its hash takes matters"
EQUIVALENT: dict[str, dict[tuple[str, str], str]] = {
    "backend/app/core/security.py": {
        ("<module>", "'timing-equaliser-' -> 'XXtiming-equaliser-XX'"): _ANY_DUMMY,
        ("<module>", "'x' -> 'XXxXX'"): _ANY_DUMMY,
        ("<module>", "16 -> 17"): _ANY_DUMMY,
    },
    # Descriptions are cut at 60 characters, so an entry may also name a sibling mutant that
    # the tests kill; the summary lists those apart, and only the survivor counts as equivalent.
    "backend/app/domain.py": {
        ("_domain", "'.' -> 'XX.XX'"): (
            "rstrip('XX.XX') strips only 'X' besides '.', and the domain is lower-cased first"
        ),
        ("_domain", "raise InvalidInput(f'invalid email {quote(original)}: bad... -> pass"): (
            "a non-ASCII domain IDNA refuses fails the ASCII-only label check with the same message"
        ),
        ("<module>", "'E' -> 'XXEXX'"): "a TypeVar's name is only read by type checkers",
    },
    "backend/app/core/guards.py": {
        ("require_unprotected", "return -> return None"): "a bare return already returns None",
    },
    "backend/app/services/keys.py": {
        ("owner_of", "assert key.service_account_id is not None -> pass"): (
            "for mypy only: the exactly_one_owner check constraint keeps it from ever failing"
        ),
    },
}
