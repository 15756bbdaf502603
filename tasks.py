"""`inv` in a checkout: the operator namespaces shipped in ``backend.app.cli``."""

from backend.app.cli import build_namespace

ns = build_namespace()
