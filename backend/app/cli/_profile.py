"""The root ``profile`` task: ``inv profile prod db.upgrade`` runs the tasks after it under that
profile. It only records the choice in invoke's config; the runtime bridge reads it."""

from __future__ import annotations

from invoke.context import Context
from invoke.tasks import task

from backend.app.cli._boundary import failure
from backend.app.errors import AppError


@task(
    help={"name": "the profile the following tasks use (e.g. dev, test, prod)"},
    auto_shortflags=False,
)
def profile(c: Context, name: str) -> None:
    """Select the profile for the tasks after this one (`inv profile prod db.upgrade`)."""
    from backend.app.cli._invoke_config import app_section
    from backend.app.core.profiles import known_profiles
    from backend.app.errors import InvalidInput, quote

    try:
        known = known_profiles(app_section(c.config))
        if name not in known:
            raise InvalidInput(
                f"unknown profile {quote(name)}; known profiles: {', '.join(known) or '(none)'}"
            )
    except AppError as error:
        raise failure(error) from None
    if "app" in c.config:  # a mapping: app_section() checked it
        c.config.app.selected_profile = name
        c.config.app.selected_via = "task"
    else:
        c.config["app"] = {"selected_profile": name, "selected_via": "task"}  # type: ignore[assignment]
