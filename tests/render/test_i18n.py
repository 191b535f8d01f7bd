"""bot.render.i18n: the language of a Telegram user, plural forms and local number formats."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.views import PostView, TopicView
from bot.render.i18n import elide_de, language_for, translator
from bot.render.notifications import post_notification
from bot.render.supporters import mysubs_message


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


# -- the catalogs in use (bot/locale) ----------------------------------------------------------

NNBSP = "\u202f"  # the narrow no-break space of French digit groups and before ! ?


def test_french_plurals_follow_the_french_rule() -> None:
    """French uses the singular for 0 and 1 and the plural from 2; numbers grouped with a space."""
    t = translator("fr")
    forms = [t.ngettext("%(n)s subscription", "%(n)s subscriptions", n) for n in (0, 1, 2, 1284)]
    assert forms == [
        "0 abonnement",
        "1 abonnement",
        "2 abonnements",
        f"1{NNBSP}284 abonnements",
    ]


def test_english_plurals_keep_todays_texts() -> None:
    """English: singular for 1 only (0 subscriptions), thousands with a comma."""
    t = translator("en")
    forms = [t.ngettext("%(n)s subscription", "%(n)s subscriptions", n) for n in (0, 1, 2, 1284)]
    assert forms == ["0 subscriptions", "1 subscription", "2 subscriptions", "1,284 subscriptions"]


def test_action_answer_counts_others_in_each_language() -> None:
    """The action button's toast: a plural by the language's rule and a local number."""
    from bot.render.actions import action_counted_answer

    assert (
        action_counted_answer(2, "en"),
        action_counted_answer(1285, "en"),
        action_counted_answer(1, "fr"),
        action_counted_answer(2, "fr"),
        action_counted_answer(1285, "fr"),
    ) == (
        "Counted, thank you! You and 1 other did it.",
        "Counted, thank you! You and 1,284 others did it.",
        f"C’est compté, merci{NNBSP}! Vous êtes la première personne à le faire.",
        f"C’est compté, merci{NNBSP}! Vous et 1 autre personne l’avez fait.",
        f"C’est compté, merci{NNBSP}! Vous et 1{NNBSP}284 autres personnes l’avez fait.",
    )


def test_dates_in_french_and_english() -> None:
    """format_date: today's fixed English form, and Babel's French one."""
    from bot.render.text import format_date

    when = datetime(2026, 3, 5, 19, 30, tzinfo=UTC)
    montreal = ZoneInfo("America/Montreal")
    assert (
        format_date(when, montreal),
        format_date(when, montreal, weekday=True, time=True),
        format_date(when, montreal, language="fr"),
        format_date(when, montreal, weekday=True, time=True, language="fr"),
    ) == ("5 Mar 2026", "Thu 5 Mar 2026 14:30", "5 mars 2026", "jeu. 5 mars 2026 14:30")


def test_french_quotes_and_spaces() -> None:
    """An unknown topic in French: « guillemets » and a no-break space before : and ?."""
    from bot.render.text import topic_not_found_message

    message = topic_not_found_message("tortur", ["StopTorture"], "fr")
    assert message.text == (
        "Aucun sujet ne s’appelle «\u00a0tortur\u00a0». "
        f"Vouliez-vous dire\u00a0: <b>StopTorture</b>{NNBSP}?"
    )


def test_refusal_reasons_in_the_readers_language() -> None:
    """A worded InvalidInputError reads in English as raised and in French through the
    catalog; an error raised with a plain message reads as raised."""
    from bot.domain.topics import check_action_label
    from bot.errors import InvalidInputError
    from bot.render.text import reason

    with pytest.raises(InvalidInputError) as caught:
        check_action_label("x" * 41)
    plain = InvalidInputError("as raised")
    assert (str(caught.value), reason(caught.value, "fr"), reason(plain, "fr")) == (
        "an action label is at most 40 characters, not 41",
        "un libellé d’action compte au plus 40 caractères, pas 41",
        "as raised",
    )


@pytest.mark.parametrize(
    ("text", "name", "language", "expected"),
    [
        (
            "Me désabonner de Écrire pour les droits",
            "Écrire pour les droits",
            "fr",
            "Me désabonner d’Écrire pour les droits",
        ),
        ("✖ Me désabonner de Amnistie", "Amnistie", "fr", "✖ Me désabonner d’Amnistie"),
        ("Me désabonner de Ogoni", "Ogoni", "fr", "Me désabonner d’Ogoni"),
        # A consonant, an h (« de Halte »), an emoji: « de » stays.
        ("Me désabonner de Halte à la torture", "Halte à la torture", "fr", None),
        ("Me désabonner de Droits", "Droits", "fr", None),
        ("Me désabonner de ✉️ Écrire", "✉️ Écrire", "fr", None),
        # Only French, and only « de » as a word right before the name.
        ("Unsubscribe from Écrire", "Écrire", "en", None),
        ("Guide Écrire", "Écrire", "fr", None),
        ("de Écrire", "", "fr", None),
    ],
)
def test_elide_de_before_a_vowel_in_french(
    text: str, name: str, language: str, expected: str | None
) -> None:
    """French « de » + a name beginning with a vowel is written « d’ »; nothing else changes."""
    assert elide_de(text, name, language) == (expected if expected is not None else text)


def test_unsubscribe_buttons_elide_de_in_french() -> None:
    """The unsubscribe buttons under a post and in /mysubs read « d’Écrire pour les droits »."""
    topic = TopicView(
        2, "write-for-rights", "Write for Rights", "✉️", name_fr="Écrire pour les droits"
    )
    torture = TopicView(1, "stoptorture", "StopTorture", "✋", name_fr="Halte à la torture")
    post = post_notification(
        PostView(1, "Titre", "https://e.example.org/a"),
        topic.in_language("fr"),
        UTC,
        language="fr",
    )
    english = post_notification(PostView(1, "Title", "https://e.example.org/a"), topic, UTC)
    mysubs = mysubs_message([topic, torture], language="fr")
    assert post.buttons[-1][0].text == "Me désabonner d’Écrire pour les droits"
    assert english.buttons[-1][0].text == "Unsubscribe from Write for Rights"
    assert [row[0].text for row in mysubs.buttons] == [
        "✖ Me désabonner d’Écrire pour les droits",
        "✖ Me désabonner de Halte à la torture",
    ]
