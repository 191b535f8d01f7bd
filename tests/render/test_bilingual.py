"""Rendering in the chat's language: topic names, language names, the broadcast preview's
audience per language, feed languages (issue 10)."""

from __future__ import annotations

from bot.domain.views import TopicView
from bot.render import admins, organisers, supporters

TORTURE = TopicView(
    1,
    "stoptorture",
    "StopTorture",
    "✋",
    "Torture and ill-treatment.",
    name_fr="Halte à la torture",
    description_fr="La torture & les mauvais traitements.",
)
LETTERS = TopicView(2, "write-for-rights", "Write for Rights", "✉️", "Letters.", name_fr="Écrire")
PLAIN = TopicView(3, "indigenous-rights", "Indigenous rights", "🪶", "Lands.")


def test_in_language_falls_back_to_english_field_by_field() -> None:
    """French where set, English otherwise; other languages read English."""
    assert (
        TORTURE.in_language("fr").name,
        LETTERS.in_language("fr").description,
        PLAIN.in_language("fr") is PLAIN,
        TORTURE.in_language("de") is TORTURE,
        TORTURE.in_language(None) is TORTURE,
    ) == ("Halte à la torture", "Letters.", True, True, True)


def test_picker_in_french_is_in_french_order_and_escaped() -> None:
    """French names and descriptions (escaped), sorted as a French reader expects."""
    message = supporters.picker_message([PLAIN, TORTURE, LETTERS], "fr")
    buttons = [b.text for row in message.buttons for b in row]
    assert buttons == ["➕ ✉️ Écrire", "➕ ✋ Halte à la torture", "➕ 🪶 Indigenous rights"]
    assert "Halte à la torture</b> — La torture &amp; les mauvais traitements." in message.text


def test_language_names_come_from_cldr_in_the_reader_language() -> None:
    """English readers see "French"; French readers "anglais" (unknown codes stay codes)."""
    assert [
        organisers.language_name("fr", "en"),
        organisers.language_name("en", "fr"),
        organisers.language_name("xx-!!", "en"),
    ] == ["French", "anglais", "xx-!!"]


def test_audience_line_says_who_gets_which_version() -> None:
    """Counts per language with digit grouping; a language without a version is told which
    version its readers get."""
    both = organisers.audience_languages_line([("en", 1284), ("fr", 3)], ["en", "fr"], "en")
    one = organisers.audience_languages_line([("en", 2), ("fr", 1)], ["fr"], "en")
    assert (both, one) == (
        "By language: English: 1,284 · French: 3.",
        "By language: English: 2 (they get the French version) · French: 1.",
    )


def test_preview_summary_keeps_its_buttons_with_the_language_line() -> None:
    """The audience line is added under the summary; the buttons (Send now / Schedule / Cancel,
    the pace toggle) stay."""
    message = organisers.preview_summary_message(
        ("✋ StopTorture",),
        False,
        3,
        "0123abcd",
        by_language=(("en", 2), ("fr", 1)),
        versions=("en",),
    )
    assert message.text.endswith(
        "By language: English: 2 · French: 1 (they get the English version)."
    )
    assert [b.text for row in message.buttons for b in row] == [
        "Send now",
        "Schedule",
        "Cancel",
        "Respect digests and quiet hours",
    ]


def test_version_prompt_names_both_languages() -> None:
    """The prompt for the other version says which language and what skipping means."""
    text = organisers.version_prompt("fr", "en", "en").text
    assert "<b>the French version</b>" in text
    assert "they get the English version" in text


def test_french_organiser_reads_the_versions_in_correct_french() -> None:
    """« la version anglaise », « la version française »: the adjective agrees, in the prompt,
    the headings and the audience line."""
    assert (
        organisers.version_prompt("en", "fr", "fr").text,
        organisers.version_heading("en", "fr").text,
        organisers.version_heading("fr", "fr").text,
        organisers.audience_languages_line([("en", 2), ("fr", 1)], ["fr"], "fr"),
    ) == (
        "Maintenant <b>la version anglaise</b> du même message, pour les conversations en "
        "anglais\u00a0: envoyez-la en texte, ou <code>skip</code> et elles recevront la "
        "version française. /cancel arrête.",
        "👇 La version anglaise\u00a0:",
        "👇 La version française\u00a0:",
        "Par langue\u00a0: anglais\u00a0: 2 (elles reçoivent la version française) · "
        "français\u00a0: 1.",
    )


def test_feed_language_and_french_topic_lines_for_admins() -> None:
    """How /feeds and /topicinfo show languages."""
    assert [
        admins.feed_language_label("fr", fixed=True),
        admins.feed_language_label(None, fixed=False),
        admins.topic_french_line("Halte à la <torture>", "Une & deux"),
        admins.topic_french_line("", ""),
    ] == [
        "language: fr (set by an admin)",
        "language: not known yet (from the feed)",
        "French: Halte à la &lt;torture&gt; — Une &amp; deux",
        "French: none",
    ]
