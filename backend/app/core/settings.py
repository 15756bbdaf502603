"""The Settings model and the layered loader behind it.

Precedence, highest first: explicit task flags (init kwargs) > ``APP_*`` environment variables
(nested with ``__``) > the active invoke profile > ``.env`` in the project root > defaults.
Nested groups (``passwords``, ``api_keys``) merge key by key across layers.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from backend.app.core.dotenv import closest_match, read_dotenv
from backend.app.core.durations import MAX_DURATION, format_duration, parse_duration
from backend.app.core.redaction import mask_url
from backend.app.core.switches import ENV_PREFIX
from backend.app.core.urls import InvalidDatabaseUrl, parse_database_url
from backend.app.errors import InvalidInput

ENV_NESTED_DELIMITER = "__"
INSECURE_DEFAULT_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105


def _to_timedelta(value: Any) -> Any:
    # ValueError (not InvalidInput) so the setting is named; the text never quotes the value.
    try:
        if isinstance(value, str):
            value = parse_duration(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            value = timedelta(seconds=value)
    except (InvalidInput, OverflowError):
        raise ValueError("use a number and a unit (w, d, h, m, s), e.g. 90d, 24h, 1h30m") from None
    if isinstance(value, timedelta) and not timedelta(0) <= value <= MAX_DURATION:
        raise ValueError("must be between 0s and 100 years")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_timedelta),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]


class PasswordPolicy(BaseModel):
    """How user passwords are accepted and hashed (argon2id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # OWASP's floor for argon2id is m=19 MiB, t=2, p=1; nothing below it is accepted.
    argon2_memory_kib: int = Field(19_456, ge=19_456, le=4_194_304)
    argon2_time_cost: int = Field(2, ge=2, le=100)
    argon2_parallelism: int = Field(1, ge=1, le=64)
    min_length: int = Field(12, ge=8, le=1024)
    # An upper bound so nobody can feed a megabyte to argon2 through a password source; passlib
    # itself refuses passwords over 4096 characters.
    max_length: int = Field(1024, ge=64, le=4096)

    @model_validator(mode="after")
    def _bounds_in_order(self) -> PasswordPolicy:
        if self.min_length > self.max_length:
            raise ValueError("passwords.min_length must not exceed passwords.max_length")
        return self


class ApiKeyPolicy(BaseModel):
    """API key format and lifetime."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field("bk_", pattern=r"^[a-z][a-z0-9]{0,15}_$")
    # Optional server secret that keys the SHA-256 digest (HMAC); changing it invalidates all keys.
    pepper: SecretStr | None = None
    # Default lifetime of keys owned by users (None: no expiry) and by service accounts.
    user_default_expiry: Duration | None = None
    account_default_expiry: Duration | None = timedelta(days=90)
    # last_used_at is written at most once per this interval per key, not on every verification.
    last_used_resolution: Duration = timedelta(minutes=5)

    @field_validator("user_default_expiry", "account_default_expiry")
    @classmethod
    def _a_lifetime_is_positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError(
                "a default lifetime must be longer than zero (leave it unset for none)"
            )
        return value


class Settings(BaseSettings):
    """Everything the backend can be configured with. Built once per task run."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        case_sensitive=False,
        extra="forbid",
        frozen=True,
        validate_default=True,
        # `APP_DATABASE_URL=` (set but empty, as CI templates often leave it) means "not set
        # here": the layers below still apply, instead of an empty value wiping them out.
        env_ignore_empty=True,
    )

    database_url: str | None = Field(
        None, description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://..."
    )
    database_connect_timeout: float = Field(10.0, gt=0, le=600)
    database_busy_timeout_ms: int = Field(5_000, ge=0, le=600_000)
    # asyncpg's statement cache: off by default, so a plain URL works behind a pooler in
    # transaction mode (PgBouncer); turn it on for a deployment that connects directly.
    database_statement_cache: bool = False
    secret_key: SecretStr = SecretStr(INSECURE_DEFAULT_SECRET_KEY)
    admin_email: str | None = None
    admin_password: SecretStr | None = None
    protected: bool = False
    confirm_destructive: bool = True
    passwords: PasswordPolicy = PasswordPolicy()
    api_keys: ApiKeyPolicy = ApiKeyPolicy()

    @field_validator("database_url", mode="before")
    @classmethod
    def _normalise_driver(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        url = value.strip()
        if not url:
            return None
        try:
            return parse_database_url(url).normalised()
        except InvalidDatabaseUrl as error:
            # ValueError, so pydantic names the setting; the detail never quotes a password.
            raise ValueError(error.detail) from None

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, (mask_url(value) if name == "database_url" and value else value)

    @property
    def is_sqlite(self) -> bool:
        return (self.database_url or "").startswith("sqlite")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        layers = _LAYERS.get() or ({}, {})
        profile = InvokeProfileSource(settings_cls, init_kwargs=layers[0])
        dotenv = ProjectDotEnvSource(settings_cls, init_kwargs=layers[1])
        return init_settings, env_settings, profile, dotenv


class InvokeProfileSource(InitSettingsSource):
    """The active invoke profile's settings, ranked between the environment and ``.env``."""


class ProjectDotEnvSource(InitSettingsSource):
    """``.env`` in the project root, as read by ``core.dotenv`` (its ``APP_*`` settings only)."""


# The profile's values and .env's, for the sources of the Settings being built.
_LAYERS: contextvars.ContextVar[tuple[dict[str, Any], dict[str, Any]] | None] = (
    contextvars.ContextVar("settings_layers", default=None)
)


def build_settings(
    *,
    profile_values: Mapping[str, Any],
    root: Path,
    overrides: Mapping[str, Any] | None = None,
    env_file: Path | None = None,
) -> Settings:
    """Build Settings from every layer; any invalid value is an InvalidInput naming the setting."""
    dotenv = read_dotenv(env_file if env_file is not None else root / ".env", Settings)
    token = _LAYERS.set((dict(profile_values), dotenv.values))
    try:
        settings = Settings(**dict(overrides or {}))
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from None
    except SettingsError as exc:
        raise InvalidInput(describe_settings_error(exc)) from None
    finally:
        _LAYERS.reset(token)
    return resolve_paths(settings, root)


def describe_settings_error(exc: SettingsError) -> str:
    """A nested group given whole (``APP_PASSWORDS=...``) that is not JSON; never its value."""
    found = re.search(r'field "(\w+)" from source "(\w+)"', str(exc))
    if found is None:
        return "invalid setting: a value could not be parsed"
    name, source = found.groups()
    where = ".env" if "DotEnv" in source else "the environment"
    return (
        f"invalid setting {name}: the value in {where} is not a JSON object "
        f"(or set one key at a time, e.g. {ENV_PREFIX}{name.upper()}{ENV_NESTED_DELIMITER}KEY)"
    )


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each bad setting, without ever echoing the value (it may be a secret)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting" + _closest_setting(error["loc"])
        problems.append(f"{name}: {message}")
    return "invalid setting " + "; ".join(problems)


def _closest_setting(loc: tuple[int | str, ...]) -> str:
    """`` (did you mean passwords.argon2_memory_kib?)`` for a mistyped setting, nested or not."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        info = model.model_fields.get(str(part))
        group = info.annotation if info is not None else None
        if not (isinstance(group, type) and issubclass(group, BaseModel)):
            return ""
        model = group
    found = closest_match(str(loc[-1]), model.model_fields)
    if found is None:
        return ""
    return f" (did you mean {'.'.join([*(str(p) for p in loc[:-1]), found])}?)"


def resolve_paths(settings: Settings, root: Path) -> Settings:
    """Make a relative SQLite path absolute against the project root."""
    url = settings.database_url
    if not url:
        return settings
    resolved = parse_database_url(url).resolved(root).normalised()
    if resolved == url:
        return settings
    return settings.model_copy(update={"database_url": resolved})


def sqlite_path(url: str | None) -> Path | None:
    """The file behind a SQLite URL, or None for another engine."""
    return parse_database_url(url).path if url else None


def database_label(settings: Settings) -> str:
    """How the database is named to a human: the file for SQLite, the masked URL otherwise."""
    url = settings.database_url
    return parse_database_url(url).label() if url else "(not set)"
