"""What supporters read about the action button: its default label and the answers to a press.

The button itself is put under messages by `bot.render.notifications`. The answers are
callback-query toasts (plain text, at most 200 characters). They speak of a total only,
never of who else acted. No I/O.
"""

from __future__ import annotations

from bot.render.i18n import N_, SOURCE_LANGUAGE, translator
from bot.render.text import answer_text

# The label an organiser gets with one press in the broadcast flow.
DEFAULT_ACTION_LABEL = N_("✅ I did it")
ALREADY_COUNTED = N_("Already counted, thank you.")


def already_counted_answer(language: str = SOURCE_LANGUAGE) -> str:
    """The answer to a second press by the same chat."""
    return translator(language).gettext(ALREADY_COUNTED)


def action_counted_answer(total: int, language: str = SOURCE_LANGUAGE) -> str:
    """The answer to a first press: the running total, this press included.

    "Counted, thank you! You and 1,284 others did it." (thousands separated), or "You're the
    first." when nobody else has.
    """
    t = translator(language)
    others = max(total - 1, 0)
    if others == 0:
        return answer_text(t.gettext("Counted, thank you! You're the first."))
    return answer_text(
        t.ngettext(
            "Counted, thank you! You and %(n)s other did it.",
            "Counted, thank you! You and %(n)s others did it.",
            others,
        )
    )
