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
    """Chat 10's second update waits for its first; chat 20's update runs meanwhile."""
    processor = PerChatUpdateProcessor(16)
    events: list[str] = []
    first_may_end = asyncio.Event()

    async def first() -> None:
        events.append("a1 starts")
        await first_may_end.wait()
        events.append("a1 ends")

    async def second() -> None:
        events.append("a2 starts")

    async def other_chat() -> None:
        events.append("b1 runs")
        first_may_end.set()

    async with processor:
        await asyncio.gather(
            processor.process_update(_update(1, 10), first()),
            processor.process_update(_update(2, 10), second()),
            processor.process_update(_update(3, 20), other_chat()),
        )
    assert (events, processor._queues) == (
        ["a1 starts", "b1 runs", "a1 ends", "a2 starts"],
        {},
    )


def test_update_key_prefers_the_chat() -> None:
    """An update's key is its chat's id; anything that is no Update has none."""
    assert (update_key(_update(1, 42)), update_key(object())) == (42, None)


async def test_one_chats_backlog_leaves_other_chats_their_turn() -> None:
    """A chat with more queued updates than slots does not stop another chat's update."""
    processor = PerChatUpdateProcessor(4)
    release = asyncio.Event()
    other_done = asyncio.Event()
    order: list[int] = []

    async def slow(n: int) -> None:
        await release.wait()
        order.append(n)

    async def other() -> None:
        other_done.set()

    async with processor:
        backlog = [
            asyncio.create_task(processor.process_update(_update(n, 10), slow(n)))
            for n in range(1, 11)
        ]
        quick = asyncio.create_task(processor.process_update(_update(99, 20), other()))
        await asyncio.wait_for(other_done.wait(), timeout=5)
        processed_first = order == []
        release.set()
        await asyncio.gather(*backlog, quick)
    assert (processed_first, order, processor._queues) == (True, list(range(1, 11)), {})


async def test_a_failing_update_does_not_drop_its_chats_queued_updates() -> None:
    """An update that raises is logged; the updates queued behind it in its chat still run."""
    processor = PerChatUpdateProcessor(4)
    release = asyncio.Event()
    ran: list[int] = []

    async def failing() -> None:
        await release.wait()
        raise RuntimeError("handler bug")

    async def fine(n: int) -> None:
        ran.append(n)

    async with processor:
        tasks = [asyncio.create_task(processor.process_update(_update(1, 10), failing()))]
        tasks += [
            asyncio.create_task(processor.process_update(_update(n, 10), fine(n))) for n in (2, 3)
        ]
        release.set()
        await asyncio.gather(*tasks)
    assert ran == [2, 3]
