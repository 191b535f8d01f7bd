"""PaceService: a chat's digest, quiet hours and time zone (/settings, /digest, /quiet, /timezone).

Each change is one transaction that stores the setting and gives the chat's held deliveries
(not yet in a digest) back to the pace policy, due now, so they are paced again under the new
settings (switching a digest off releases what it held). Bad input raises `PaceInputError`
before anything is written. The delivery engine carries the policy out (`bot.services.delivery`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Chat
from bot.db.repos import ChatRepo
from bot.db.repos.pace import PaceRepo
from bot.domain.clock import Clock
from bot.domain.pace import (
    TIMEZONE_CHOICES,
    PaceInputError,
    SettingsView,
    goes_now,
    load_pace,
    parse_digest,
    parse_quiet,
    resolve_timezone,
)


def _zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz)


class PaceService:
    """Reads and changes a chat's pace settings."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        default_tz: tzinfo,
        *,
        default_language: str = "en",
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._default_tz = default_tz
        self._default_language = default_language
        self._on_change = on_change

    async def settings(self, chat_id: int, chat_type: str = "private") -> SettingsView:
        """What /settings shows for a chat (registering it if new)."""
        async with self._sessionmaker.begin() as session:
            chat = await ChatRepo(session).get(chat_id)
            if chat is None:
                chat = await ChatRepo(session).ensure(chat_id, chat_type, self._clock.now())
            held = await PaceRepo(session).held_count(chat_id)
            return self._view(chat, held)

    def _view(self, chat: Chat, held: int) -> SettingsView:
        pace = load_pace(chat.timezone, chat.digest, chat.quiet, self._default_tz)
        return SettingsView(
            language=chat.language or self._default_language,
            timezone=_zone_name(pace.tz),
            digest=pace.digest,
            quiet=pace.quiet,
            held=held,
        )

    async def _set(self, chat_id: int, chat_type: str, **values: str | None) -> SettingsView:
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            chats = ChatRepo(session)
            if await chats.get(chat_id) is None:
                await chats.ensure(chat_id, chat_type, now)
            repo = PaceRepo(session)
            await repo.set_settings(chat_id, now, **values)
            await repo.reset_held(chat_id, now)
            chat = await chats.get(chat_id)
            if chat is None:  # pragma: no cover - ensured above, in this transaction
                raise RuntimeError("chat vanished")
            await session.refresh(chat)
            view = self._view(chat, await repo.held_count(chat_id))
        if self._on_change is not None:
            self._on_change()
        return view

    async def set_digest(
        self, chat_id: int, text: str, chat_type: str = "private"
    ) -> SettingsView:
        """/digest off|daily HH:MM|weekly <day> HH:MM.

        Raises:
            PaceInputError: Not one of those; nothing changes.
        """
        digest = parse_digest(text)
        return await self._set(chat_id, chat_type, digest=digest.code() if digest else None)

    async def set_quiet(self, chat_id: int, text: str, chat_type: str = "private") -> SettingsView:
        """/quiet HH:MM-HH:MM|off.

        Raises:
            PaceInputError: Not one of those; nothing changes.
        """
        quiet = parse_quiet(text)
        return await self._set(chat_id, chat_type, quiet=quiet.code() if quiet else None)

    async def set_timezone(
        self, chat_id: int, text: str, chat_type: str = "private"
    ) -> SettingsView:
        """/timezone <IANA name or city>.

        Raises:
            PaceInputError: Neither; nothing changes.
        """
        return await self._set(chat_id, chat_type, timezone=resolve_timezone(text))

    async def set_timezone_choice(
        self, chat_id: int, index: int, chat_type: str = "private"
    ) -> SettingsView:
        """A time-zone button: the `index`-th of TIMEZONE_CHOICES.

        Raises:
            PaceInputError: No such choice.
        """
        if not 0 <= index < len(TIMEZONE_CHOICES):
            raise PaceInputError("timezone", str(index))
        return await self._set(chat_id, chat_type, timezone=TIMEZONE_CHOICES[index])

    async def audience_now_later(self, topic_ids: Sequence[int] | None) -> tuple[int, int]:
        """For a broadcast that respects pace: how many chats of its audience get it now, later.

        The audience is the active chats following any of the topics (any topic: None).
        """
        now = self._clock.now()
        async with self._sessionmaker() as session:
            total, paced = await PaceRepo(session).audience_settings(topic_ids)
        later = sum(
            1
            for chat_id, (tz, digest, quiet) in paced.items()
            if not goes_now(load_pace(tz, digest, quiet, self._default_tz), now, chat_id=chat_id)
        )
        return total - later, later
