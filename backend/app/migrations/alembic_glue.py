"""Alembic's configuration, scripts and errors, as the runner and the ``db`` tasks use them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from backend.app.errors import InvalidInput, SchemaNotReady

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.config import Config
    from alembic.script import ScriptDirectory

SCRIPT_LOCATION = "backend.app:migrations"
FILE_TEMPLATE = "%%(rev)s_%%(slug)s"


def alembic_config(root: Path, *, stdout: IO[str] | None = None) -> Config:
    """The project's alembic.ini when there is one, else the packaged migrations."""
    from alembic.config import Config

    ini = root / "alembic.ini"
    kwargs: dict[str, Any] = {"stdout": stdout} if stdout is not None else {}
    if ini.is_file():
        return Config(str(ini), **kwargs)
    cfg = Config(**kwargs)
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.set_main_option("file_template", FILE_TEMPLATE)
    return cfg


def script_directory(cfg: Config) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(cfg)


@contextlib.contextmanager
def alembic_errors() -> Iterator[None]:
    """Alembic's own failures as domain errors: a bad revision is invalid input (2)."""
    from alembic.script.revision import MultipleHeads, RevisionError
    from alembic.util import CommandError

    try:
        yield
    except (CommandError, RevisionError) as error:
        # Alembic's commands wrap MultipleHeads in a CommandError.
        heads = error if isinstance(error, MultipleHeads) else error.__cause__
        if isinstance(heads, MultipleHeads):
            raise SchemaNotReady(
                f"the migrations have several heads ({', '.join(heads.heads)}): merge them first",
                hint="",
            ) from None
        text = str(error).strip()
        raise InvalidInput(text.splitlines()[0] if text else type(error).__name__) from None


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render our UTCDateTime as a plain timezone-aware DateTime in generated migrations."""
    from backend.app.models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure_options(dialect_name: str) -> dict[str, Any]:
    from backend.app.models import Base

    return {
        "target_metadata": Base.metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        "render_as_batch": dialect_name == "sqlite",
        # Our SQLite connections issue a real BEGIN, so DDL is transactional on both engines.
        "transactional_ddl": True,
        "compare_type": True,
        "render_item": render_item,
    }
