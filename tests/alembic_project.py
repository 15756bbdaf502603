"""Project folders whose own alembic.ini adds test-only migrations, or points at a copy of them.

The tasks and alembic's env.py honour an ``alembic.ini`` in the project root, so a test can add
migrations (or let ``db.revision`` write one) without touching ``backend/app/migrations``.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import backend.app.migrations

PACKAGED = Path(backend.app.migrations.__file__).resolve().parent

MIGRATION = '''\
"""test-only migration {revision}"""
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def packaged_head() -> str:
    """The single head of the packaged migrations, whatever revisions the project has added."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(PACKAGED))
    (head,) = ScriptDirectory.from_config(cfg).get_heads()
    return head


def write_ini(root: Path, *, script_location: Path | str, version_locations: list[Path]) -> None:
    locations = ":".join(str(p) for p in version_locations)
    (root / "alembic.ini").write_text(
        textwrap.dedent(
            f"""\
            [alembic]
            script_location = {script_location}
            {"version_locations = " + locations if locations else ""}
            path_separator = os
            version_path_separator = os
            """
        ),
        encoding="utf-8",
    )


class ExtraMigrations:
    """Test-only migrations stacked on the packaged head, through the project's alembic.ini."""

    def __init__(self, root: Path, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.folder = folder
        self.chain = [packaged_head()]
        write_ini(
            root,
            script_location="backend.app:migrations",
            version_locations=[folder, PACKAGED / "versions"],
        )

    def add(self, name: str, upgrade: str, downgrade: str = "pass") -> str:
        """Add a migration on top of the last one; returns its revision id."""
        revision = f"t{len(self.chain)}_{name}"
        (self.folder / f"{revision}.py").write_text(
            MIGRATION.format(
                revision=revision,
                down=self.chain[-1],
                upgrade=_body(upgrade),
                downgrade=_body(downgrade),
            ),
            encoding="utf-8",
        )
        self.chain.append(revision)
        return revision


def copy_of_migrations(root: Path, target: Path) -> Path:
    """Point the project at a writable copy of the packaged migrations; returns its versions/."""
    shutil.copytree(PACKAGED, target, ignore=shutil.ignore_patterns("__pycache__"))
    write_ini(root, script_location=target, version_locations=[])
    return target / "versions"


def _body(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code).strip(), "    ")
