"""A chat's pace: instant, a daily or weekly digest, quiet hours, in the chat's time zone. Pure.

The delivery engine asks `decide_pace` about every due delivery it has not paced yet and
carries the answer out (`bot.services.delivery`):

- SEND: send it now (instant chats outside their quiet hours; urgent deliveries, priority at
  or above `DeliveryPriority.URGENT`; broadcasts unless the organiser asked them to respect
  the chat's pace);
- DIGEST: a post for a chat on a digest: it waits, held, for the digest due at `until`;
- HOLD: wait until `until` and then go (quiet hours: their end plus the chat's place in the
  release window; a pace-respecting broadcast to a digest chat: the next digest time).

Due times are computed in the chat's zone with zoneinfo, one per local calendar day (daily)
or week (weekly), so a daylight-saving change neither skips nor doubles a digest: a wall time
that does not exist that day (spring forward) maps to the same instant shifted by the gap,
one that exists twice (fall back) to its first occurrence.
"""

from __future__ import annotations

import enum
import re
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.priority import DeliveryPriority
from bot.errors import InvalidInputError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = {
    **{day: i for i, day in enumerate(WEEKDAYS)},
    **{
        name: i
        for i, names in enumerate(
            (
                ("monday", "lun", "lundi"),
                ("tuesday", "tues", "mar", "mardi"),
                ("wednesday", "wed", "mer", "mercredi"),
                ("thursday", "thu", "thur", "thurs", "jeu", "jeudi"),
                ("friday", "ven", "vendredi"),
                ("saturday", "sam", "samedi"),
                ("sunday", "dim", "dimanche"),
            )
        )
        for name in names
    },
}

# French keywords a francophone supporter may type (/digest quotidien 18:00, /quiet non).
_KEYWORDS = {
    "quotidien": "daily",
    "quotidienne": "daily",
    "hebdo": "weekly",
    "hebdomadaire": "weekly",
    "non": "off",
    "désactivé": "off",
    "instantané": "instant",
}

# Quiet-hour releases are spread over this window after the quiet hours end, each chat at a
# stable offset of its own (see `release_offset`); the engine's pacing does the rest.
QUIET_RELEASE_SECONDS = 600

# The organisation's likely zones, offered as buttons by /timezone and /settings.
TIMEZONE_CHOICES = (
    "America/Toronto",
    "America/Halifax",
    "America/Winnipeg",
    "America/Edmonton",
    "America/Vancouver",
    "America/St_Johns",
    "Europe/Paris",
    "UTC",
)

# Cities (folded: lower case, no accents, spaces) a supporter may type instead of a zone name.
CITIES = {
    "montreal": "America/Toronto",
    "quebec": "America/Toronto",
    "ottawa": "America/Toronto",
    "toronto": "America/Toronto",
    "gatineau": "America/Toronto",
    "sherbrooke": "America/Toronto",
    "halifax": "America/Halifax",
    "moncton": "America/Moncton",
    "fredericton": "America/Moncton",
    "charlottetown": "America/Halifax",
    "st johns": "America/St_Johns",
    "winnipeg": "America/Winnipeg",
    "regina": "America/Regina",
    "saskatoon": "America/Regina",
    "calgary": "America/Edmonton",
    "edmonton": "America/Edmonton",
    "vancouver": "America/Vancouver",
    "victoria": "America/Vancouver",
    "whitehorse": "America/Whitehorse",
    "yellowknife": "America/Edmonton",
    "iqaluit": "America/Iqaluit",
    "paris": "Europe/Paris",
    "brussels": "Europe/Brussels",
    "bruxelles": "Europe/Brussels",
    "geneva": "Europe/Zurich",
    "geneve": "Europe/Zurich",
    "london": "Europe/London",
    "londres": "Europe/London",
    "new york": "America/New_York",
    "utc": "UTC",
}

_HHMM = re.compile(r"([01]?[0-9]|2[0-3])[:h.]([0-5][0-9])")


class PaceInputError(InvalidInputError):
    """A /digest, /quiet or /timezone argument is not one we understand.

    `what` is "digest", "quiet" or "timezone"; the render layer says what is expected.
    """

    def __init__(self, what: str, value: str) -> None:
        super().__init__(f"not a {what}: {value!r}")
        self.what = what
        self.value = value


@dataclass(frozen=True, slots=True)
class Digest:
    """Daily (`weekday` None) or weekly at a local wall time."""

    at: time
    weekday: int | None = None

    def code(self) -> str:
        """Stored form: "daily 18:00" or "weekly mon 09:00"."""
        clock = self.at.strftime("%H:%M")
        if self.weekday is None:
            return f"daily {clock}"
        return f"weekly {WEEKDAYS[self.weekday]} {clock}"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local wall times from `start` to `end`; wraps midnight when `end` <= `start`."""

    start: time
    end: time

    def code(self) -> str:
        """Stored form: "22:00-08:00"."""
        return f"{self.start.strftime('%H:%M')}-{self.end.strftime('%H:%M')}"

    def contains(self, local: time) -> bool:
        """Whether a local wall time falls inside the quiet hours."""
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class ChatPace:
    """One chat's pace settings, parsed (None: instant, no quiet hours)."""

    tz: tzinfo
    digest: Digest | None = None
    quiet: QuietHours | None = None


@dataclass(frozen=True, slots=True)
class SettingsView:
    """What /settings shows: plain values (the service's answer)."""

    language: str
    timezone: str
    digest: Digest | None
    quiet: QuietHours | None
    held: int = 0


def _clock_time(text: str, what: str, original: str) -> time:
    match = _HHMM.fullmatch(text.strip())
    if match is None:
        raise PaceInputError(what, original)
    return time(int(match.group(1)), int(match.group(2)))


def parse_digest(text: str) -> Digest | None:
    """`off` / `instant` → None; `daily 18:00`; `weekly mon 09:00`.

    Raises:
        PaceInputError: Anything else.
    """
    words = [_KEYWORDS.get(w, w) for w in text.strip().lower().split()]
    if words in (["off"], ["instant"], ["none"]):
        return None
    if len(words) == 2 and words[0] == "daily":
        return Digest(_clock_time(words[1], "digest", text))
    if len(words) == 3 and words[0] == "weekly" and words[1] in _WEEKDAY_NAMES:
        return Digest(_clock_time(words[2], "digest", text), _WEEKDAY_NAMES[words[1]])
    raise PaceInputError("digest", text)


def parse_quiet(text: str) -> QuietHours | None:
    """`off` → None; `22:00-08:00` (may wrap midnight; start and end must differ).

    Raises:
        PaceInputError: Anything else.
    """
    cleaned = text.strip().lower()
    if _KEYWORDS.get(cleaned, cleaned) in ("off", "none"):
        return None
    parts = re.split(r"\s*[-–—]\s*|\s+(?:to|à|a)\s+", cleaned)
    if len(parts) != 2:
        raise PaceInputError("quiet", text)
    start = _clock_time(parts[0], "quiet", text)
    end = _clock_time(parts[1], "quiet", text)
    if start == end:
        raise PaceInputError("quiet", text)
    return QuietHours(start, end)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c) and c not in "'’.")
    return " ".join(re.sub(r"[^a-z0-9/_+-]+", " ", plain.casefold()).split())


def _zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def resolve_timezone(text: str) -> str:
    """An IANA zone name (any case) or a city of `CITIES` → the IANA name stored.

    Raises:
        PaceInputError: Neither.
    """
    cleaned = text.strip()
    if not cleaned or len(cleaned) > 64:
        raise PaceInputError("timezone", text)
    folded = _fold(cleaned)
    city = CITIES.get(folded.replace("-", " ").strip())
    if city is not None:
        return city
    name = _zone_names().get(cleaned.replace(" ", "_").casefold())
    if name is None:
        raise PaceInputError("timezone", text)
    return name


def zone(name: str | None, default: tzinfo) -> tzinfo:
    """The zone of a stored name; `default` (BOT_TIMEZONE) when unset or no longer known."""
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return default


def load_pace(
    timezone: str | None, digest: str | None, quiet: str | None, default_tz: tzinfo
) -> ChatPace:
    """A chat's stored settings as a `ChatPace` (a damaged value reads as unset)."""
    parsed_digest: Digest | None = None
    parsed_quiet: QuietHours | None = None
    try:
        parsed_digest = parse_digest(digest) if digest else None
    except PaceInputError:
        parsed_digest = None
    try:
        parsed_quiet = parse_quiet(quiet) if quiet else None
    except PaceInputError:
        parsed_quiet = None
    return ChatPace(zone(timezone, default_tz), parsed_digest, parsed_quiet)


def _at(day: datetime, wall: time, tz: tzinfo) -> datetime:
    """The UTC instant of a local wall time on a local day (fold=0: see the module doc)."""
    local = datetime(day.year, day.month, day.day, wall.hour, wall.minute, tzinfo=tz)
    # Round-trip through UTC so that a non-existent wall time lands on a real instant.
    return local.astimezone(UTC)


def next_digest_at(digest: Digest, tz: tzinfo, after: datetime) -> datetime:
    """The first digest time strictly after `after` (aware, UTC)."""
    local = after.astimezone(tz)
    for offset in range(9):
        day = local + timedelta(days=offset)
        if digest.weekday is not None and day.weekday() != digest.weekday:
            continue
        slot = _at(day, digest.at, tz)
        if slot > after:
            return slot
    raise AssertionError("no digest time within 9 days")  # pragma: no cover


def previous_digest_at(digest: Digest, tz: tzinfo, at_or_before: datetime) -> datetime:
    """The last digest time at or before the moment (aware, UTC)."""
    local = at_or_before.astimezone(tz)
    for offset in range(9):
        day = local - timedelta(days=offset)
        if digest.weekday is not None and day.weekday() != digest.weekday:
            continue
        slot = _at(day, digest.at, tz)
        if slot <= at_or_before:
            return slot
    raise AssertionError("no digest time within 9 days")  # pragma: no cover


def quiet_end(quiet: QuietHours, tz: tzinfo, now: datetime) -> datetime | None:
    """When the quiet hours that `now` falls in end (UTC), or None when `now` is not quiet."""
    local = now.astimezone(tz)
    if not quiet.contains(local.time()):
        return None
    for offset in range(3):
        end = _at(local + timedelta(days=offset), quiet.end, tz)
        if end > now:
            return end
    raise AssertionError("quiet hours without an end")  # pragma: no cover


def release_offset(chat_id: int, window: int = QUIET_RELEASE_SECONDS) -> timedelta:
    """A chat's stable place in the release window after its quiet hours (0 … window s).

    Every chat gets its own offset (a hash of its id), so the deliveries held overnight are
    due over `window` seconds instead of all at the same second; one chat's deliveries share
    it, so they still go out in their order.
    """
    if window <= 0:
        return timedelta(0)
    return timedelta(seconds=zlib.crc32(str(chat_id).encode()) % window)


class PaceAction(enum.Enum):
    """What to do with a due delivery (see the module docstring)."""

    SEND = "send"
    HOLD = "hold"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class PaceDecision:
    """The action and, for HOLD and DIGEST, until when (aware, UTC)."""

    action: PaceAction
    until: datetime | None = None


SEND_NOW = PaceDecision(PaceAction.SEND)


def bypasses_pace(priority: int) -> bool:
    """Urgent deliveries ignore digests and quiet hours (the hook for urgent topics)."""
    return priority >= DeliveryPriority.URGENT


def decide_pace(
    pace: ChatPace | None,
    now: datetime,
    *,
    chat_id: int,
    priority: int,
    is_post: bool,
    respect_pace: bool = False,
    release_window: int = QUIET_RELEASE_SECONDS,
) -> PaceDecision:
    """What the engine does with a due delivery that the pace policy has not seen yet.

    Args:
        pace: The chat's settings (None: instant, no quiet hours).
        now: The current time (aware).
        chat_id: The chat (its place in the release window).
        priority: The delivery's `DeliveryPriority`; URGENT and above bypass everything.
        is_post: A post notification (digests collect posts only).
        respect_pace: For a broadcast: the organiser chose "respect digests and quiet hours".
        release_window: Seconds over which quiet-hour releases are spread.
    """
    if pace is None or bypasses_pace(priority):
        return SEND_NOW
    if not is_post and not respect_pace:
        return SEND_NOW
    if pace.digest is not None:
        slot = next_digest_at(pace.digest, pace.tz, now)
        return PaceDecision(PaceAction.DIGEST if is_post else PaceAction.HOLD, slot)
    if pace.quiet is not None:
        end = quiet_end(pace.quiet, pace.tz, now)
        if end is not None:
            return PaceDecision(PaceAction.HOLD, end + release_offset(chat_id, release_window))
    return SEND_NOW


def goes_now(pace: ChatPace | None, now: datetime, *, chat_id: int) -> bool:
    """Whether a pace-respecting broadcast would go to this chat now (for the preview)."""
    decision = decide_pace(
        pace,
        now,
        chat_id=chat_id,
        priority=int(DeliveryPriority.BROADCAST),
        is_post=False,
        respect_pace=True,
    )
    return decision.action is PaceAction.SEND
