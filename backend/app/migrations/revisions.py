"""Writing new migration files, numbered after the last one (0003_...)."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.app.errors import InvalidInput
from backend.app.migrations.alembic_glue import alembic_errors, script_directory

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

MAX_MESSAGE = 200


@dataclass(frozen=True)
class Revision:
    id: str
    down_revisions: tuple[str, ...]
    message: str
    is_head: bool
    path: str


def history(cfg: Config) -> list[Revision]:
    """Every revision, newest first. Needs no database."""
    with alembic_errors():
        script = script_directory(cfg)
        heads = set(script.get_heads())
        return [
            Revision(
                id=rev.revision,
                down_revisions=as_tuple(rev.down_revision),
                message=(rev.doc or "").strip(),
                is_head=rev.revision in heads,
                path=str(rev.path),
            )
            for rev in script.walk_revisions()
        ]


def check_message(message: str) -> str:
    message = message.strip()
    if not message or len(message) > MAX_MESSAGE or not message.isprintable():
        raise InvalidInput(
            f"{{field}} must be 1 to {MAX_MESSAGE} printable characters", field="message"
        )
    # The message is pasted into the new file's docstring: these would break its syntax, and a
    # migration file that does not compile breaks every command after it.
    if "\\" in message or '"""' in message:
        raise InvalidInput(
            '{field} cannot contain a backslash or """ (it becomes a docstring)', field="message"
        )
    return message


def versions_folder(cfg: Config) -> Path:
    """Where a new revision goes; refused when that is an installed package or read-only."""
    with alembic_errors():
        versions = Path(script_directory(cfg).versions)
    if {"site-packages", "dist-packages"} & set(versions.resolve().parts):
        raise InvalidInput(
            f"new migrations are written into a checkout; {versions} belongs to the installed "
            "package, where a new file would be lost at the next install"
        )
    if not os.access(versions, os.W_OK):
        raise InvalidInput(f"cannot write to {versions}: a writable checkout is needed")
    return versions


def next_revision_id(cfg: Config) -> str:
    with alembic_errors():
        revisions = script_directory(cfg).walk_revisions()
        numbers = [int(m.group()) for rev in revisions if (m := re.match(r"\d+", rev.revision))]
    return f"{max(numbers, default=0) + 1:04d}"


def write(
    cfg: Config, *, message: str, autogenerate: bool, conn: Connection | None
) -> Revision | None:
    """Write the revision (compared against ``conn`` when autogenerating); None when
    autogenerate finds nothing to write."""
    from alembic import command

    from backend.app.migrations.runner import RUN_KEY, MigrationRun

    rev_id = next_revision_id(cfg)

    def skip_if_empty(_context: Any, _revision: Any, directives: list[Any]) -> None:
        if autogenerate and directives and directives[0].upgrade_ops.is_empty():
            directives[:] = []

    if conn is not None:
        cfg.attributes[RUN_KEY] = MigrationRun(connection=conn)
    try:
        with alembic_errors(), contextlib.redirect_stdout(sys.stderr):
            created = command.revision(
                cfg,
                message=message,
                autogenerate=autogenerate,
                rev_id=rev_id,
                process_revision_directives=skip_if_empty,
            )
    finally:
        cfg.attributes.pop(RUN_KEY, None)
    if isinstance(created, list):
        created = created[0] if created else None
    if created is None:
        return None
    return Revision(
        id=created.revision,
        down_revisions=as_tuple(created.down_revision),
        message=message,
        is_head=True,
        path=str(created.path),
    )


def as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def check_revision_syntax(revision: str) -> str:
    # At most one FROM:TO, no empty side of it or of a `branch@rev`: alembic fails those with an
    # AssertionError or a ValueError instead of its own error.
    parts = revision.split(":")
    empty_side = any(not side for part in parts for side in part.split("@"))
    if (
        len(revision) > 120
        or not re.fullmatch(r"[\w@:+\-.,]+", revision)
        or len(parts) > 2
        or empty_side
    ):
        from backend.app.errors import quote

        raise InvalidInput(f"invalid revision {quote(revision)}")
    return revision


def slug(message: str) -> str:
    """The file name part alembic makes of a message (its ``%(slug)s``)."""
    slug = "_".join(re.findall(r"\w+", message)).lower()
    return slug[:40].rsplit("_", 1)[0] + "_" if len(slug) > 40 else slug
