"""Configuration: .env.example parses, variables map to settings, bad values name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, async_database_url, load_settings
from bot.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_env_example_parses_into_settings() -> None:
    """Every variable in .env.example is valid, so the example cannot drift from the code."""
    settings = Settings(_env_file=REPO_ROOT / ".env.example")  # type: ignore[call-arg]
    assert (settings.poll_interval_seconds, settings.feed_urls) == (300, [])


def test_env_example_token_is_refused_like_a_missing_one() -> None:
    """The placeholder token of .env.example is refused with the missing token's hint."""
    example = Settings(_env_file=REPO_ROOT / ".env.example")  # type: ignore[call-arg]
    missing = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ConfigError) as refused:
        example.require_token()
    with pytest.raises(ConfigError) as unset:
        missing.require_token()
    hint = str(unset.value).split(" is not set. ", 1)[1]
    assert (refused.value.variable, str(refused.value).endswith(hint)) == (
        "TELEGRAM_BOT_TOKEN",
        True,
    )


def test_env_example_documents_every_setting() -> None:
    """Each Settings field appears as a variable in .env.example."""
    text = (REPO_ROOT / ".env.example").read_text()
    missing = [name.upper() for name in Settings.model_fields if f"{name.upper()}=" not in text]
    assert missing == []


def test_defaults_match_design() -> None:
    """Defaults are the documented ones (.env.example, README)."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    actual = (
        settings.telegram_api_url,
        settings.database_url,
        settings.poll_interval_seconds,
        settings.allow_private_feed_urls,
        settings.send_rate_per_second,
        settings.bot_timezone,
        settings.log_level,
        settings.log_format,
        settings.health_port,
    )
    expected = (
        "https://api.telegram.org/bot",
        "sqlite:///./data/campaignbot.sqlite3",
        300,
        False,
        25,
        "UTC",
        "INFO",
        "text",
        None,
    )
    assert actual == expected


def test_csv_variables_are_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """ADMIN_IDS and FEED_URLS are comma-separated lists; blanks are ignored."""
    monkeypatch.setenv("ADMIN_IDS", " 12345, 678 ,")
    monkeypatch.setenv("FEED_URLS", "https://a.example/feed, https://b.example/rss")
    settings = load_settings(_env_file=None)
    assert (settings.admin_ids, settings.feed_urls) == (
        [12345, 678],
        ["https://a.example/feed", "https://b.example/rss"],
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("POLL_INTERVAL_SECONDS", "0"),
        ("POLL_INTERVAL_SECONDS", "soon"),
        ("ADMIN_IDS", "12,abc"),
        ("DATABASE_URL", "mysql://root@localhost/bot"),
        ("DATABASE_URL", "just-a-file.db"),
        ("BOT_TIMEZONE", "Mars/Olympus_Mons"),
        ("LOG_FORMAT", "xml"),
        ("SEND_RATE_PER_SECOND", "-1"),
        ("HEALTH_PORT", "70000"),
        ("ALLOW_PRIVATE_FEED_URLS", "perhaps"),
        ("TELEGRAM_API_URL", "ftp://example.org/bot"),
    ],
)
def test_invalid_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """An invalid value stops start-up with a ConfigError naming the variable."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.variable == variable


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "greater than or equal to 1"),
        ("-30", "greater than or equal to 1"),
        ("ninety", "whole number of days"),
        ("1.5", "whole number of days"),
        ("30d", "whole number of days"),
        ("36501", "less than or equal to 36500"),
    ],
)
def test_bad_retention_days_is_a_clear_config_error(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    """RETENTION_DAYS must be whole days from 1 up: anything else names the variable and why."""
    monkeypatch.setenv("RETENTION_DAYS", value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert (caught.value.variable, says in caught.value.message) == ("RETENTION_DAYS", True)


@pytest.mark.parametrize(("value", "days"), [(None, 90), ("", 90), (" 30 ", 30), ("1", 1)])
def test_retention_days_default_and_values(
    monkeypatch: pytest.MonkeyPatch, value: str | None, days: int
) -> None:
    """Unset or empty is the default of 90 days; a whole number is taken as given."""
    if value is not None:
        monkeypatch.setenv("RETENTION_DAYS", value)
    assert load_settings(_env_file=None).retention_days == days


def test_config_error_never_repeats_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad value is not echoed (it could be a secret pasted into the wrong variable)."""
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "123456789:SECRET-token-value")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///./data/x.sqlite3", "sqlite+aiosqlite:///./data/x.sqlite3"),
        ("sqlite:////abs/x.sqlite3", "sqlite+aiosqlite:////abs/x.sqlite3"),
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_url_maps_to_async_driver(url: str, expected: str) -> None:
    """Plain sqlite:/// and postgresql:// URLs map to aiosqlite and asyncpg."""
    assert async_database_url(url) == expected


def test_missing_token_explains_botfather() -> None:
    """Without a token, require_token says how to get one and where to put it."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ConfigError) as caught:
        settings.require_token()
    message = str(caught.value)
    assert ("TELEGRAM_BOT_TOKEN" in message, "@BotFather" in message, ".env" in message) == (
        True,
        True,
        True,
    )


# -- the web server and tracked links -----------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WEB_PORT": "8080"}, 8080),
        ({"HEALTH_PORT": "8081"}, 8081),  # the old name alone still works
        ({"WEB_PORT": "8082", "HEALTH_PORT": "8082"}, 8082),
        ({"WEB_PORT": "", "HEALTH_PORT": "8083"}, 8083),
    ],
)
def test_web_port_and_its_alias(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: int | None
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert load_settings(_env_file=None).web_port == expected


def test_web_port_and_health_port_that_differ_are_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_PORT", "8080")
    monkeypatch.setenv("HEALTH_PORT", "9090")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert (caught.value.variable, "HEALTH_PORT is 9090" in caught.value.message) == (
        "WEB_PORT",
        True,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("https://bot.example.org", "https://bot.example.org"),
        ("https://bot.example.org/", "https://bot.example.org"),
        (" https://bot.example.org/campaign/// ", "https://bot.example.org/campaign"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("HTTPS://Bot.Example.org:8443/x", "HTTPS://Bot.Example.org:8443/x"),
    ],
)
def test_public_url_is_normalised(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str | None
) -> None:
    monkeypatch.setenv("PUBLIC_URL", value)
    monkeypatch.setenv("WEB_PORT", "8080")
    assert load_settings(_env_file=None).public_url == expected


@pytest.mark.parametrize(
    "value",
    [
        "bot.example.org",
        "ftp://bot.example.org",
        "https://",
        "/r/",
        "https://bot.example.org/?a=1",
        "https://bot.example.org/#top",
        "https://user:pw@bot.example.org",
        "https://bot.example.org:99999",
        "https://bot.example.org/a b",
        "javascript:alert(1)",
    ],
)
def test_a_bad_public_url_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PUBLIC_URL", value)
    monkeypatch.setenv("WEB_PORT", "8080")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert (caught.value.variable, "pw" in str(caught.value)) == ("PUBLIC_URL", False)


def test_public_url_needs_the_web_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://bot.example.org")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert (caught.value.variable, "PUBLIC_URL" in caught.value.message) == ("WEB_PORT", True)


def test_link_secret_is_optional_secret_and_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINK_SECRET", "")
    unset = load_settings(_env_file=None).link_secret
    monkeypatch.setenv("LINK_SECRET", "correct horse battery staple")
    settings = load_settings(_env_file=None)
    monkeypatch.setenv("LINK_SECRET", "short-secret")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert (
        unset,
        settings.link_secret is not None and settings.link_secret.get_secret_value(),
        "battery" in repr(settings),
        caught.value.variable,
        "short-secret" in str(caught.value),
    ) == (None, "correct horse battery staple", False, "LINK_SECRET", False)


# -- webhook mode ---------------------------------------------------------------------------------

HOOK = "https://bot.example.org/telegram/hook"


def test_webhook_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """WEBHOOK_URL with WEB_PORT and a secret: webhook mode; WEBHOOK_MAX_CONNECTIONS defaults
    to Telegram's 40; the secret is hidden in the settings' text."""
    monkeypatch.setenv("WEBHOOK_URL", HOOK + "/")
    monkeypatch.setenv("WEBHOOK_SECRET", "Abc_123-xyz")
    monkeypatch.setenv("WEB_PORT", "8080")
    settings = load_settings(_env_file=None)
    assert (settings.webhook_url, settings.webhook_max_connections) == (HOOK, 40)
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == "Abc_123-xyz"
    assert "Abc_123-xyz" not in repr(settings)


def test_empty_webhook_url_is_long_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Empty WEBHOOK_URL and WEBHOOK_SECRET (as in .env.example) mean long polling."""
    monkeypatch.setenv("WEBHOOK_URL", "")
    monkeypatch.setenv("WEBHOOK_SECRET", "")
    settings = load_settings(_env_file=None)
    assert (settings.webhook_url, settings.webhook_secret) == (None, None)


@pytest.mark.parametrize(
    ("env", "variable", "part"),
    [
        ({"WEBHOOK_SECRET": "s"}, "WEBHOOK_URL", "needs WEB_PORT"),
        ({"WEB_PORT": "8080"}, "WEBHOOK_SECRET", "must be set when WEBHOOK_URL is"),
        ({"WEB_PORT": "8080", "WEBHOOK_SECRET": "has space"}, "WEBHOOK_SECRET", "A-Z, a-z"),
        ({"WEB_PORT": "8080", "WEBHOOK_SECRET": "é"}, "WEBHOOK_SECRET", "A-Z, a-z"),
        ({"WEB_PORT": "8080", "WEBHOOK_SECRET": "x" * 257}, "WEBHOOK_SECRET", "1-256"),
        (
            {"WEB_PORT": "8080", "WEBHOOK_SECRET": "s", "WEBHOOK_MAX_CONNECTIONS": "101"},
            "WEBHOOK_MAX_CONNECTIONS",
            "100",
        ),
    ],
)
def test_webhook_settings_that_cannot_work_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str, part: str
) -> None:
    """Each refusal names the variable and never repeats the secret."""
    monkeypatch.setenv("WEBHOOK_URL", HOOK)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert (caught.value.variable, part in caught.value.message) == (variable, True)
    secret = env.get("WEBHOOK_SECRET")
    assert secret is None or len(secret) < 2 or secret not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "bot.example.org/hook",
        "ftp://bot.example.org/hook",
        "https://bot.example.org/hook?x=1",
        "https://bot.example.org/healthz",
        "https://bot.example.org/metrics",
        "https://bot.example.org/r/hook",
    ],
)
def test_webhook_url_must_be_an_address_the_web_server_can_serve(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """Not an absolute http(s) address, a query, or a path the server serves: refused."""
    monkeypatch.setenv("WEBHOOK_URL", url)
    monkeypatch.setenv("WEBHOOK_SECRET", "s")
    monkeypatch.setenv("WEB_PORT", "8080")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.variable == "WEBHOOK_URL"


@pytest.mark.parametrize(("value", "language"), [(None, "en"), ("fr", "fr"), (" FR ", "fr")])
def test_default_language(
    monkeypatch: pytest.MonkeyPatch, value: str | None, language: str
) -> None:
    """DEFAULT_LANGUAGE is en unless set to fr (any case)."""
    if value is not None:
        monkeypatch.setenv("DEFAULT_LANGUAGE", value)
    assert load_settings(_env_file=None).default_language == language


def test_unknown_default_language_is_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """DEFAULT_LANGUAGE=de stops start-up naming the variable and the allowed values."""
    monkeypatch.setenv("DEFAULT_LANGUAGE", "de")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert (caught.value.variable, "'en' or 'fr'" in caught.value.message) == (
        "DEFAULT_LANGUAGE",
        True,
    )
