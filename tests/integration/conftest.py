"""Fixtures of the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alembic_project import ExtraMigrations


@pytest.fixture
def extra(tmp_path: Path) -> ExtraMigrations:
    """A project whose alembic.ini stacks test-only migrations on the packaged ones."""
    return ExtraMigrations(tmp_path / "project", tmp_path / "extra_versions")
