"""What supporters read about the action button: its default label and the answers to a press.

The button itself is put under messages by `bot.render.notifications`. The answers are
callback-query toasts (plain text, at most 200 characters). They speak of a total only,
never of who else acted. No I/O.
"""

from __future__ import annotations

from bot.render.text import answer_text

# The label an organiser gets with one press in the broadcast flow.
DEFAULT_ACTION_LABEL = "✅ I did it"
ALREADY_COUNTED = "Already counted, thank you."


def action_counted_answer(total: int) -> str:
    """The answer to a first press: the running total, this press included.

    "Counted, thank you! You and 1,284 others did it." (thousands separated), or "You're the
    first." when nobody else has.
    """
    others = max(total - 1, 0)
    if others == 0:
        return answer_text("Counted, thank you! You're the first.")
    people = "1 other" if others == 1 else f"{others:,} others"
    return answer_text(f"Counted, thank you! You and {people} did it.")
