"""Callback data for inline buttons: built and parsed only here (STYLE.md 2.4).

Format `"<area>:<action>[:<arg>…]"`, at most 64 bytes (Telegram's limit). Everything a
button needs is in its data or in the database, never only in memory, so buttons keep working
after a restart. `parse()` is strict: anything else is a forged or stale button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64

# Areas and actions.
TOPIC_TOGGLE = "t:tog"  # t:tog:<topic_id>:<view>  toggle a subscription from a picker
TOPIC_OFF = "t:off"  # t:off:<topic_id>  unsubscribe (button under a post or in /mysubs)
LATEST_PAGE = "l:pg"  # l:pg:<topic_id or 0>:<page>
FORGET_CONFIRM = "f:yes"
FORGET_CANCEL = "f:no"
NOOP = "x:noop"

# Picker views: which message the toggle edits in place.
VIEW_PICKER = "p"  # /start and /topics
VIEW_MYSUBS = "m"  # /mysubs

_NUMBER = r"(0|[1-9][0-9]{0,17})"


@dataclass(frozen=True, slots=True)
class Callback:
    """A parsed button press."""

    kind: str
    topic_id: int = 0
    page: int = 0
    view: str = VIEW_PICKER


def topic_toggle(topic_id: int, view: str = VIEW_PICKER) -> str:
    """Data of a subscribe/unsubscribe toggle in a picker."""
    return _checked(f"{TOPIC_TOGGLE}:{topic_id}:{view}")


def topic_off(topic_id: int) -> str:
    """Data of an "Unsubscribe from <topic>" button."""
    return _checked(f"{TOPIC_OFF}:{topic_id}")


def latest_page(topic_id: int | None, page: int) -> str:
    """Data of a ◀ ▶ button in /latest."""
    return _checked(f"{LATEST_PAGE}:{topic_id or 0}:{page}")


def _checked(data: str) -> str:
    if len(data.encode("utf-8")) > MAX_BYTES:  # pragma: no cover - ids are bounded
        raise ValueError("callback data over 64 bytes")
    return data


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^t:tog:{_NUMBER}:([pm])$"), TOPIC_TOGGLE),
    (re.compile(rf"^t:off:{_NUMBER}$"), TOPIC_OFF),
    (re.compile(rf"^l:pg:{_NUMBER}:([0-9]{{1,4}})$"), LATEST_PAGE),
    (re.compile(r"^f:yes$"), FORGET_CONFIRM),
    (re.compile(r"^f:no$"), FORGET_CANCEL),
    (re.compile(r"^x:noop$"), NOOP),
]


def parse(data: str | None) -> Callback | None:
    """Parse callback data; None when it is not one of ours (forged, stale or garbled)."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    for pattern, kind in _PATTERNS:
        match = pattern.fullmatch(data)
        if match is None:
            continue
        groups = match.groups()
        if kind == TOPIC_TOGGLE:
            return Callback(kind, topic_id=int(groups[0]), view=groups[1])
        if kind == TOPIC_OFF:
            return Callback(kind, topic_id=int(groups[0]))
        if kind == LATEST_PAGE:
            return Callback(kind, topic_id=int(groups[0]), page=int(groups[1]))
        return Callback(kind)
    return None
