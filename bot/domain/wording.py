"""The marker of texts that the message catalogs translate, for every layer from the domain up.

`N_("…")` returns its argument unchanged; `make catalogs` extracts every string passed to it.
Where a domain rule or a service refuses an input, it raises
`InvalidInputError.worded(N_("… %(name)s …"), name=value)`, and the render layer words the
reason in the reader's language (`bot.render.text.reason`). Pure.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name
    """Mark `message` for extraction; it is translated where it is shown."""
    return message
