"""Fixtures of the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, str]:
    """Files named like the certificates a URL can point at (their contents are not real)."""
    files = {}
    for name in ("sslrootcert", "sslcert", "sslkey", "sslcrl"):
        path = tmp_path / f"{name}.pem"
        path.write_text("not really a certificate\n", encoding="utf-8")
        files[name] = str(path)
    return files
