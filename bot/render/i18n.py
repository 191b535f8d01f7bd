"""Languages for the render layer: which language a chat reads, its translations and formats.

Only the render layer translates, and it takes the language as a plain argument ("en", "fr"):
`t = translator(language)`, then `t.gettext("Subscribe")`, `t.ngettext("%(n)s subscriber",
"%(n)s subscribers", n)` and `t.number(1284)`. Catalogs are gettext files compiled into the
package (bot/locale/<language>/LC_MESSAGES/messages.mo); a message missing from a catalog
reads in English, the language the code is written in. Plurals follow each language's rules
(from the catalog's Plural-Forms), and numbers and dates are formatted by Babel (CLDR).
"""

from __future__ import annotations

import functools
import gettext
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

from bot.domain.wording import N_

__all__ = [
    "LANGUAGES",
    "N_",
    "SOURCE_LANGUAGE",
    "Translator",
    "elide_de",
    "language_for",
    "translator",
]

# Languages with a catalog, the first being the language of the code's own texts.
LANGUAGES = ("en", "fr")
SOURCE_LANGUAGE = "en"
# Each language's name in itself, as the /language buttons show it.
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


# French letters a name can begin with that take « d’ » instead of « de ». Not "h": whether it
# elides depends on the word (« d’histoire » but « de Halte »), and a wrong « d’ » is worse
# than a missing one.
_FRENCH_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüÿæœ")


def elide_de(text: str, name: str, language: str) -> str:
    """`text` with French « de <name> » written « d’<name> » when `name` begins with a vowel.

    For catalog texts that put a name (a topic's) after « de »: « Me désabonner de Écrire
    pour les droits » reads « Me désabonner d’Écrire pour les droits ». Call it on the
    formatted text, before shortening; other languages and other names are left as they are.
    """
    if language != "fr" or not name or name[0].casefold() not in _FRENCH_VOWELS:
        return text
    return re.sub(rf"\bde {re.escape(name)}", lambda _: f"d’{name}", text)


def language_for(telegram_code: str | None, default: str = SOURCE_LANGUAGE) -> str:
    """The catalog language of a Telegram `language_code` ("fr-CA" → "fr"), else `default`."""
    if telegram_code:
        base = telegram_code.strip().replace("_", "-").split("-", 1)[0].lower()
        if base in LANGUAGES:
            return base
    return default


@dataclass(frozen=True, slots=True)
class Translator:
    """One language's texts and formats."""

    language: str
    catalog: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        """The translation of `message` (the message itself where the catalog has none)."""
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """The form for `n` by the language's plural rule, `%(n)s` and `values` filled in."""
        return self.catalog.ngettext(singular, plural, n) % {"n": self.number(n), **values}

    def number(self, value: int | float) -> str:
        """`value` with the language's digit grouping ("1,284" / "1 284")."""
        return format_decimal(value, locale=self.language)

    def decimal(self, value: float, pattern: str) -> str:
        """`value` by a CLDR number pattern ("0.00") with the language's decimal sign."""
        return format_decimal(value, format=pattern, locale=self.language)

    def percent(self, value: float) -> str:
        """A rate (0.316) as a percentage with one decimal: "31.6%", « 31,6 % »."""
        pattern = Locale.parse(self.language).percent_formats[None].pattern
        # The language's own pattern ("#,##0 %" in French), with one decimal.
        one_decimal = pattern.replace("#,##0", "#,##0.0", 1)
        return format_percent(value, format=one_decimal, locale=self.language)

    def language_name(self, code: str) -> str:
        """A language's name in a sentence in this language ("French", « français »)."""
        return self.gettext(LANGUAGE_IN_TEXT[code]) if code in LANGUAGE_IN_TEXT else code

    def datetime(self, value: datetime, tz: tzinfo, fmt: str = "medium") -> str:
        """`value` in `tz`, written the language's way."""
        return format_datetime(value, format=fmt, tzinfo=tz, locale=self.language)


# Each language's name inside a sentence, a catalog message ("in French", « en français »).
LANGUAGE_IN_TEXT = {"en": N_("English"), "fr": N_("French")}


@functools.cache
def translator(language: str) -> Translator:
    """The translator of a language (unknown languages read the source language)."""
    if language not in LANGUAGES:
        language = SOURCE_LANGUAGE
    catalog = gettext.translation(
        DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True
    )
    return Translator(language, catalog)
