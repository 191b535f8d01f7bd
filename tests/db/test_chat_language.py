"""ChatRepo.language, set_language and languages: the chat's language (issue #10)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import ChatRepo

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_language_is_none_until_set_then_stored(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A new chat has no language; set_language stores it; an unknown chat reads None."""
    async with sessionmaker.begin() as session:
        chats = ChatRepo(session)
        await chats.ensure(1, "private", NOW)
        before = await chats.language(1)
        changed = await chats.set_language(1, "fr", NOW)
        missing = await chats.set_language(99, "fr", NOW)
    async with sessionmaker() as session:
        after = await ChatRepo(session).language(1)
        unknown = await ChatRepo(session).language(99)
    assert (before, changed, missing, after, unknown) == (None, True, False, "fr", None)


async def test_languages_of_many_chats(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """languages() maps each existing chat to its language (None when unset), skipping others."""
    async with sessionmaker.begin() as session:
        chats = ChatRepo(session)
        for chat_id in (1, 2, 3):
            await chats.ensure(chat_id, "private", NOW)
        await chats.set_language(1, "fr", NOW)
        await chats.set_language(2, "en", NOW)
    async with sessionmaker() as session:
        found = await ChatRepo(session).languages([1, 2, 3, 4])
        none = await ChatRepo(session).languages([])
    assert (found, none) == ({1: "fr", 2: "en", 3: None}, {})
