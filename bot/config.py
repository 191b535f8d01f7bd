"""Configuration: one `Settings` object read from the environment and `.env`.

The variable names are a contract with users (TELEGRAM_BOT_TOKEN, DATABASE_URL, ...).
`load_settings()` is called once by the composition root (cli/app) and the result passed down;
nothing here is read at import time. Contains no business logic.
"""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///./data/campaignbot.sqlite3"
DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_RETENTION_DAYS = 90
# A hundred years: an upper bound that keeps the cut-off date arithmetic safe.
MAX_RETENTION_DAYS = 36_500
MIN_LINK_SECRET_CHARS = 16
DEFAULT_WEBHOOK_MAX_CONNECTIONS = 40  # Telegram's own default (setWebhook: 1-100)
# Telegram's rule for setWebhook's secret_token, sent back as X-Telegram-Bot-Api-Secret-Token.
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Paths the web server already serves: a webhook path must not shadow them.
_RESERVED_PATHS = ("/healthz", "/metrics", "/r/")

_BOTFATHER_STEPS = (
    "Talk to @BotFather in Telegram (/newbot) to get a token, "
    "then put TELEGRAM_BOT_TOKEN=<token> in the .env file next to README.md "
    "(or export it in the environment)."
)
BOTFATHER_HINT = f"TELEGRAM_BOT_TOKEN is not set. {_BOTFATHER_STEPS}"
PLACEHOLDER_HINT = (
    f"TELEGRAM_BOT_TOKEN is still the placeholder from .env.example. {_BOTFATHER_STEPS}"
)
REFUSED_HINT = (
    "Telegram refused the token in TELEGRAM_BOT_TOKEN. Check it with @BotFather (/mybots, "
    "API Token) and put it in the .env file next to README.md; if you changed "
    "TELEGRAM_API_URL, check that too."
)
# The token .env.example ships with; anything marked REPLACE-ME is a placeholder too.
PLACEHOLDER_TOKEN = "123456789:REPLACE-ME-with-the-token-from-BotFather"  # noqa: S105 - a placeholder


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the bot; see `.env.example` for each variable's meaning."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    feed_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    poll_interval_seconds: int = Field(default=300, ge=1, le=7 * 24 * 3600)
    allow_private_feed_urls: bool = False
    topics_file: Path | None = None
    send_rate_per_second: float = Field(default=25, gt=0, le=1000)
    # Lets organisers choose "fast (paid)" for a broadcast: allow_paid_broadcast, up to 1,000
    # messages a second, paid in Stars from the bot's balance (docs/ORGANISERS.md).
    allow_paid_broadcast: bool = False
    bot_timezone: str = "UTC"
    # The language of chats whose Telegram language is not one the bot speaks (en, fr).
    default_language: Literal["en", "fr"] = "en"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    health_port: int | None = Field(default=None, ge=1, le=65535)
    # Delivery rows (and their click and action marks) older than this are folded into
    # per-message totals and deleted; older posts keep their title and link only.
    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=MAX_RETENTION_DAYS)
    # Tracked links (bot/web/): where the web server is reachable from outside, and the key
    # that signs link tokens (None: generated once and kept in bot_state).
    public_url: str | None = None
    link_secret: SecretStr | None = None
    # The one web server; HEALTH_PORT is its old name (declared after it and PUBLIC_URL, whose
    # values its validator reads).
    web_port: int | None = Field(default=None, ge=1, le=65535, validate_default=True)
    # Webhook mode (empty: long polling): Telegram POSTs updates to WEBHOOK_URL, served by the
    # web server on WEB_PORT at the URL's path; WEBHOOK_SECRET proves a request is Telegram's.
    # Declared after WEB_PORT, which the URL's validator reads, and in this order.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    webhook_max_connections: int = Field(default=DEFAULT_WEBHOOK_MAX_CONNECTIONS, ge=1, le=100)

    # Tuning knobs beyond the documented contract; defaults suit a small organisation.
    feed_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    feed_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    feed_concurrency: int = Field(default=16, ge=1, le=256)
    # Twin posts (bot/domain/languages.py): how long a post in one language waits for its
    # version in the other before chats reading that language get it anyway (0: no waiting,
    # no twins).
    twin_window_minutes: int = Field(default=30, ge=0, le=24 * 60)
    # Several instances on PostgreSQL (bot/services/fleet.py): how long a claimed delivery
    # stays with its instance (a dead instance's claims pass to others after it), and how
    # often the leader lock is tried and checked (another instance leads within about this).
    fleet_lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    fleet_heartbeat_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("admin_ids", "feed_urls", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("default_language", mode="before")
    @classmethod
    def _language_code(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or "en"
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _upper_level(cls, value: object, info: Any) -> object:
        if isinstance(value, str):
            return value.upper() if info.field_name == "log_level" else value.lower()
        return value

    @field_validator(
        "topics_file",
        "health_port",
        "web_port",
        "public_url",
        "link_secret",
        "webhook_url",
        "webhook_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("retention_days", mode="before")
    @classmethod
    def _whole_days(cls, value: object) -> object:
        """An empty RETENTION_DAYS is the default; anything but a whole number is refused."""
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return DEFAULT_RETENTION_DAYS
            if not value.lstrip("-").isdigit():
                raise ValueError("must be a whole number of days, at least 1 (default 90)")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else public_url(value)

    @field_validator("link_secret")
    @classmethod
    def _long_enough_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_LINK_SECRET_CHARS:
            raise ValueError(
                f"must be at least {MIN_LINK_SECRET_CHARS} characters "
                "(or leave it empty: the bot then makes one and keeps it in its database)"
            )
        return value

    @field_validator("web_port")
    @classmethod
    def _one_web_port(cls, value: int | None, info: Any) -> int | None:
        health = info.data.get("health_port")
        if value is None:
            value = health  # HEALTH_PORT alone: the old name of the same setting
        elif health is not None and health != value:
            raise ValueError(
                f"is {value} but HEALTH_PORT is {health}: the bot has one web server; "
                "HEALTH_PORT is the old name of WEB_PORT, so set only WEB_PORT"
            )
        if value is None and info.data.get("public_url"):
            raise ValueError(
                "must be set when PUBLIC_URL is: tracked links are served by the web server"
            )
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None, info: Any) -> str | None:
        if value is None:
            return None
        value = webhook_url(value)
        # A WEB_PORT that failed its own validation is absent from info.data: that error shows.
        if "web_port" in info.data and info.data["web_port"] is None:
            raise ValueError(
                "needs WEB_PORT: Telegram's updates are received by the bot's web server, "
                "so set WEB_PORT to the port your reverse proxy forwards WEBHOOK_URL to"
            )
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: Any) -> SecretStr | None:
        if value is None:
            if info.data.get("webhook_url") is not None:
                raise ValueError(
                    "must be set when WEBHOOK_URL is: 1-256 characters of A-Z, a-z, 0-9, _ "
                    "and - (for example the output of: openssl rand -hex 32)"
                )
            return None
        if not WEBHOOK_SECRET_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError(
                "must be 1-256 characters, only A-Z, a-z, 0-9, _ and - (Telegram's rule)"
            )
        return value

    @field_validator("bot_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/London)"
            ) from error
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        async_database_url(value)  # raises ValueError with a readable message
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_api(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def telegram_file_url(self) -> str:
        """Where files are downloaded: TELEGRAM_API_URL with `/bot` made `/file/bot`.

        Telegram serves files beside the API (`https://api.telegram.org/file/bot<token>/…`);
        a local Bot API server or a test fake does the same under its own root.
        """
        root = self.telegram_api_url.rstrip("/")
        if root.endswith("/bot"):
            return root.removesuffix("bot") + "file/bot"
        return root + "/file/bot"

    @property
    def async_database_url(self) -> str:
        """DATABASE_URL mapped to its asyncio driver (aiosqlite or asyncpg)."""
        return async_database_url(self.database_url)

    @property
    def is_postgresql(self) -> bool:
        """Whether DATABASE_URL is PostgreSQL (the one engine several instances may share)."""
        return self.async_database_url.startswith("postgresql")

    @property
    def timezone(self) -> zoneinfo.ZoneInfo:
        """BOT_TIMEZONE as a tzinfo."""
        return zoneinfo.ZoneInfo(self.bot_timezone)

    def require_token(self) -> str:
        """Return the bot token, or raise ConfigError explaining how to get one.

        The placeholder of `.env.example` counts as no token: a new user who copied the
        example gets the same hint as one who set nothing.
        """
        token = (
            "" if self.telegram_bot_token is None else self.telegram_bot_token.get_secret_value()
        )
        if not token.strip():
            raise ConfigError("TELEGRAM_BOT_TOKEN", BOTFATHER_HINT)
        if token == PLACEHOLDER_TOKEN or "REPLACE-ME" in token.upper():
            raise ConfigError("TELEGRAM_BOT_TOKEN", PLACEHOLDER_HINT)
        return token


def public_url(value: str) -> str:
    """PUBLIC_URL checked and normalised: absolute http(s), no query or fragment, no trailing /.

    Raises:
        ValueError: not such a URL (the message says what is wrong).
    """
    value = value.strip()
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "must be an absolute http:// or https:// address such as https://bot.example.org"
        )
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError("must not have a query (?…) or a fragment (#…)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain spaces")
    return value.rstrip("/")


def webhook_url(value: str) -> str:
    """WEBHOOK_URL checked: an absolute http(s) address whose path the web server can serve.

    Raises:
        ValueError: not such a URL (the message says what is wrong).
    """
    value = public_url(value)
    path = webhook_path(value)
    if any(
        path in (reserved, reserved.rstrip("/")) or path.startswith(reserved)
        for reserved in _RESERVED_PATHS
    ):
        raise ValueError(
            f"path {path!r} is already served by the web server (/healthz, /metrics, /r/): "
            "use a path of its own such as /telegram/webhook"
        )
    return value


def webhook_path(url: str) -> str:
    """The path the web server serves a WEBHOOK_URL at (`/` if the URL has none)."""
    return urlsplit(url).path or "/"


def async_database_url(url: str) -> str:
    """Map a plain `sqlite:///…` or `postgresql://…` URL to its asyncio driver.

    Raises:
        ValueError: the URL is of no kind we support.
    """
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(
            "must look like sqlite:///path/to/file.sqlite3 or postgresql://user@host/db"
        )
    scheme = scheme.lower()
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"unsupported database {scheme!r}: use sqlite:/// or postgresql://")


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment and `.env`, with explicit overrides on top.

    Raises:
        ConfigError: a variable has an invalid value; the message names the variable
            and never repeats a secret.
    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(variable, message) from None
