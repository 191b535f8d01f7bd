"""bot.render.i18n: the language of a Telegram user, plural forms and local number formats."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.render.i18n import language_for, translator


@pytest.mark.parametrize(
    ("code", "default", "language"),
    [
        ("fr", "en", "fr"),
        ("fr-CA", "en", "fr"),
        ("FR_ca", "en", "fr"),
        ("en-GB", "fr", "en"),
        ("de", "en", "en"),
        ("de", "fr", "fr"),
        (None, "fr", "fr"),
        ("", "en", "en"),
    ],
)
def test_language_for_telegram_codes(code: str | None, default: str, language: str) -> None:
    """fr and its regional variants read French; a language without a catalog the default."""
    assert language_for(code, default) == language


def test_numbers_and_dates_are_written_each_languages_way() -> None:
    """Digit grouping and month names follow the language (CLDR through Babel)."""
    when = datetime(2026, 11, 30, 17, 5, tzinfo=UTC)
    montreal = ZoneInfo("America/Montreal")
    assert (
        translator("en").number(1284),
        translator("fr").number(1284).replace("\u202f", " ").replace("\xa0", " "),
        "nov." in translator("fr").datetime(when, montreal),
        "Nov" in translator("en").datetime(when, montreal),
    ) == ("1,284", "1 284", True, True)


def test_english_plural_and_unknown_language() -> None:
    """The source language picks singular or plural; an unknown language reads English."""
    t = translator("xx")
    assert (
        t.language,
        t.ngettext("%(n)s subscriber", "%(n)s subscribers", 1),
        t.ngettext("%(n)s subscriber", "%(n)s subscribers", 1284),
    ) == ("en", "1 subscriber", "1,284 subscribers")
