"""Callback data for inline buttons: built and parsed only here.

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


# -- organiser broadcasts (bot.handlers.organisers) ---------------------------------------------
# Draft buttons carry the draft's token, so a button under an old preview cannot send a newer
# draft; the cancel button of /broadcasts carries the broadcast id (its state is in the database).

BROADCAST_SEND = "b:send"  # b:send:<token>  send the previewed draft now
BROADCAST_SCHEDULE = "b:when"  # b:when:<token>  ask when to send it
BROADCAST_DISCARD = "b:drop"  # b:drop:<token>  discard the draft
BROADCAST_CANCEL = "b:stop"  # b:stop:<broadcast_id>  cancel a scheduled broadcast
# The action-button step of the flow: the default label, an own label, or no button.
BROADCAST_ACTION_DEFAULT = "b:adef"  # b:adef:<token>
BROADCAST_ACTION_OWN = "b:aown"  # b:aown:<token>  the next message is the label
BROADCAST_ACTION_NONE = "b:anone"  # b:anone:<token>
# Toggle "respect digests and quiet hours" on the preview's summary (bot.domain.pace).
BROADCAST_PACE = "b:pace"  # b:pace:<token>
# "Fast (paid)" under the preview (ALLOW_PAID_BROADCAST): switches the draft paid / normal.
BROADCAST_PAID = "b:paid"  # b:paid:<token>

DRAFT_TOKEN_CHARS = 8
# Anchored patterns for the CallbackQueryHandlers.
BROADCAST_DRAFT_PATTERN = r"^b:(send|when|drop|adef|aown|anone|pace|paid):[0-9a-f]{8}$"
BROADCAST_CANCEL_PATTERN = rf"^b:stop:{_NUMBER}$"


@dataclass(frozen=True, slots=True)
class BroadcastCallback:
    """A parsed broadcast button: its kind and the draft token or the broadcast id."""

    kind: str
    token: str = ""
    broadcast_id: int = 0


def broadcast_draft_button(kind: str, token: str) -> str:
    """Data of a Send now / Schedule / Cancel button under a draft's preview."""
    return _checked(f"{kind}:{token}")


def broadcast_cancel(broadcast_id: int) -> str:
    """Data of the "Cancel #N" button of /broadcasts."""
    return _checked(f"{BROADCAST_CANCEL}:{broadcast_id}")


def parse_broadcast(data: str | None) -> BroadcastCallback | None:
    """Parse broadcast button data; None when it is not a broadcast button of ours."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    if re.fullmatch(BROADCAST_DRAFT_PATTERN, data):
        kind, _, token = data.rpartition(":")
        return BroadcastCallback(kind, token=token)
    if re.fullmatch(BROADCAST_CANCEL_PATTERN, data):
        return BroadcastCallback(BROADCAST_CANCEL, broadcast_id=int(data.rpartition(":")[2]))
    return None


# -- admin buttons (bot.handlers.admins) ---------------------------------------------------------
# Parsed by `parse_admin`, not `parse`: they carry a feed id rather than a topic id. The role is
# checked again on every press (a replayed button of an admin is refused for anyone else).

FEED_REMOVE = "a:rmf"  # a:rmf:<feed_id>  confirm removing a feed
FEED_KEEP = "a:keep"  # a:keep  cancel removing a feed


@dataclass(frozen=True, slots=True)
class AdminCallback:
    """A parsed admin button press."""

    kind: str
    feed_id: int = 0


def feed_remove(feed_id: int) -> str:
    """Data of the "Remove" button of /removefeed."""
    return _checked(f"{FEED_REMOVE}:{feed_id}")


_ADMIN_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"a:rmf:{_NUMBER}"), FEED_REMOVE),
    (re.compile(r"a:keep"), FEED_KEEP),
]


def parse_admin(data: str | None) -> AdminCallback | None:
    """Parse an admin button's data; None when it is not one (forged, stale or garbled)."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    for pattern, kind in _ADMIN_PATTERNS:
        match = pattern.fullmatch(data)
        if match is None:
            continue
        return AdminCallback(kind, feed_id=int(match.group(1)) if match.groups() else 0)
    return None


# -- action buttons (bot.handlers.actions) -------------------------------------------------------
# One callback data per MESSAGE, the same for every chat that got it (so the delivery engine
# renders a message once for all its chats): which chat pressed is the press's own chat, and the
# handler checks on the server that this chat got this message as the pressed Telegram message.

ACTION = "act"
ACTION_BROADCAST = "b"  # act:b:<broadcast_id>
ACTION_POST = "p"  # act:p:<post_id>
ACTION_PATTERN = rf"^act:[bp]:{_NUMBER}$"


@dataclass(frozen=True, slots=True)
class ActionCallback:
    """A parsed action button press: the kind of message (ACTION_BROADCAST/POST) and its id."""

    kind: str
    message_id: int


def action(kind: str, message_id: int) -> str:
    """Data of the action button ("✅ I did it") under a broadcast or a post notification."""
    if kind not in (ACTION_BROADCAST, ACTION_POST):
        raise ValueError(f"not an action kind: {kind!r}")
    return _checked(f"{ACTION}:{kind}:{message_id}")


def parse_action(data: str | None) -> ActionCallback | None:
    """Parse an action button's data; None when it is not one (forged or garbled)."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    match = re.fullmatch(ACTION_PATTERN, data)
    if match is None:
        return None
    _, kind, number = data.split(":")
    return ActionCallback(kind, int(number))


# -- /search pages (bot.handlers.sharing) --------------------------------------------------------
# The searched words travel in the data (folded, at most 50 bytes: bot.domain.search), so a
# page button needs no state; forged words only run another search.

SEARCH_PAGE = "s:pg"  # s:pg:<page>:<folded words, space-separated>
SEARCH_PAGE_PATTERN = r"^s:pg:"
_SEARCH_PAGE = re.compile(r"s:pg:([0-9]{1,4}):([^:]{1,54})")


def search_page(page: int, terms: str) -> str:
    """Data of a ◀ ▶ button under /search results."""
    return _checked(f"{SEARCH_PAGE}:{page}:{terms}")


def parse_search(data: str | None) -> tuple[int, str] | None:
    """(page, words) of a /search page button; None when it is not one of ours."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    match = _SEARCH_PAGE.fullmatch(data)
    return None if match is None else (int(match.group(1)), match.group(2))


# -- pace settings (bot.handlers.pace) ------------------------------------------------------------
# The value chosen travels in the data in the form its command takes (validated again by the
# domain parser); a time-zone button carries its index in bot.domain.pace.TIMEZONE_CHOICES.

PACE_DIGEST = "p:dg"  # p:dg:<off | daily HH:MM | weekly <day> HH:MM>
PACE_QUIET = "p:qt"  # p:qt:<off | HH:MM-HH:MM>
PACE_ZONE = "p:tz"  # p:tz:<index>
PACE_ZONES = "p:zones"  # open the time-zone picker
PACE_HOME = "p:home"  # back to /settings
PACE_PATTERN = r"^p:(dg|qt|tz|zones|home)(:|$)"
_PACE = re.compile(
    r"p:(?:dg:(?:off|daily [0-2][0-9]:[0-5][0-9]|weekly [a-z]{3} [0-2][0-9]:[0-5][0-9])"
    r"|qt:(?:off|[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9])|tz:[0-9]{1,2}|zones|home)"
)


@dataclass(frozen=True, slots=True)
class PaceCallback:
    """A parsed pace button: its kind (PACE_*) and value (the setting, or a zone index)."""

    kind: str
    value: str = ""


def pace_digest(code: str) -> str:
    """Data of a digest preset button."""
    return _checked(f"{PACE_DIGEST}:{code}")


def pace_quiet(code: str) -> str:
    """Data of a quiet-hours preset button."""
    return _checked(f"{PACE_QUIET}:{code}")


def pace_zone(index: int) -> str:
    """Data of a time-zone button."""
    return _checked(f"{PACE_ZONE}:{index}")


def parse_pace(data: str | None) -> PaceCallback | None:
    """Parse a pace button's data; None when it is not one of ours."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES or _PACE.fullmatch(data) is None:
        return None
    if data in (PACE_ZONES, PACE_HOME):
        return PaceCallback(data)
    area, _, value = data.partition(":")[2].partition(":")
    return PaceCallback(f"p:{area}", value)


# -- /language (bot.handlers.supporters) ---------------------------------------------------------

LANGUAGE = "lang"  # lang:<code>  set the chat's language
LANGUAGE_PATTERN = r"^lang:[a-z]{2}$"


def language(code: str) -> str:
    """Data of a /language button."""
    return _checked(f"{LANGUAGE}:{code}")


def parse_language(data: str | None) -> str | None:
    """The language code of a /language button; None when it is not one of ours."""
    if not data or re.fullmatch(LANGUAGE_PATTERN, data) is None:
        return None
    return data.split(":", 1)[1]
