"""PerChatUpdateProcessor: different chats concurrently, one chat's updates in order."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.handlers.updates import PerChatUpdateProcessor, update_key


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "private")
    user = User(chat_id, "Tester", is_bot=False)
    message = Message(update_id, None, chat, from_user=user, text="/topics")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_updates_of_one_chat_run_in_order_and_chats_in_parallel() -> None:
    processor = PerChatUpdateProcessor(16)
    events: list[str] = []

    async def handle(name: str, delay: float) -> None:
        events.append(f"{name}+")
        await asyncio.sleep(delay)
        events.append(f"{name}-")

    async with processor:
        await asyncio.gather(
            processor.process_update(_update(1, 10), handle("a1", 0.05)),
            processor.process_update(_update(2, 10), handle("a2", 0.0)),
            processor.process_update(_update(3, 20), handle("b1", 0.0)),
        )
    # chat 10: a1 finishes before a2 starts; chat 20 does not wait for chat 10
    assert events.index("a1-") < events.index("a2+")
    assert events.index("b1-") < events.index("a1-")
    assert processor._locks == {}


def test_update_key_prefers_the_chat() -> None:
    assert (update_key(_update(1, 42)), update_key(object())) == (42, None)
