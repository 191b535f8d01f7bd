"""SharingService: the referral key, inline answers for Share buttons, shares and joins."""

from __future__ import annotations

from datetime import UTC

import pytest
from telegram import Bot

from bot.db.models import BROADCAST, NOTICE, Broadcast
from bot.db.repos import BroadcastRepo, ChatRepo, DeliveryRepo, PostRepo, TopicRepo, TotalsRepo
from bot.domain.referral import POST
from bot.domain.types import ParsedEntry
from bot.domain.views import TopicView
from bot.errors import TopicNotFoundError
from bot.sender import TelegramSender
from bot.services.delivery import DeliveryEngine
from bot.services.sharing import SharingService
from bot.services.subscriptions import SubscriptionService
from bot.services.topics import TopicService
from tests.fakes.botapi import FakeBotApi
from tests.fakes.clock import FakeClock
from tests.services.support import Sessions

NEW_CHAT = 5001


@pytest.fixture
def sharing(sessionmaker: Sessions, clock: FakeClock, topics: TopicService) -> SharingService:
    """The sharing use-cases over the bundled topics."""
    return SharingService(sessionmaker, clock, SubscriptionService(sessionmaker, clock))


async def _broadcast(sessionmaker: Sessions, clock: FakeClock, slug: str, kind: str) -> int:
    tid = await _topic_id(sessionmaker, slug)
    async with sessionmaker.begin() as session:
        broadcast = await BroadcastRepo(session).add(
            Broadcast(
                kind=kind,
                created_by=1,
                topic_ids=[tid],
                text_html="Write <b>now</b>",
                action_url="https://act.example.org/",
                status="done",
                created_at=clock.now(),
            )
        )
        return broadcast.id


async def _topic_id(sessionmaker: Sessions, slug: str) -> int:
    async with sessionmaker() as session:
        topic = await TopicRepo(session).by_key(slug)
        assert topic is not None
        return topic.id


async def _totals(sessionmaker: Sessions, kind: str, message_id: int) -> dict[int, dict[str, int]]:
    async with sessionmaker() as session:
        rows = await TotalsRepo(session).for_message(kind, message_id)
    return {t: {k: v for k, v in c.items() if v} for t, c in rows.items()}


async def test_referral_key_is_generated_once_and_shared(
    sessionmaker: Sessions, clock: FakeClock, sharing: SharingService
) -> None:
    """A second service (another instance, a restart) reads the same key: codes stay valid."""
    first = await sharing.load_key()
    again = SharingService(sessionmaker, clock, SubscriptionService(sessionmaker, clock))
    assert (await again.load_key(), len(first)) == (first, 32)


async def test_share_query_of_a_broadcast_answers_with_that_broadcast(
    sessionmaker: Sessions, clock: FakeClock, sharing: SharingService
) -> None:
    """A broadcast's Share query gives its text, action link and Follow topic."""
    broadcast_id = await _broadcast(sessionmaker, clock, "write-for-rights", BROADCAST)
    await sharing.load_key()
    query = sharing.share_query("broadcast", broadcast_id, None)
    assert query is not None
    answer = await sharing.inline(f"{query} write-for-rights")
    (result,) = answer.results
    assert (result.broadcast_html, result.action_url, result.topic and result.topic.slug) == (
        "Write <b>now</b>",
        "https://act.example.org/",
        "write-for-rights",
    )


@pytest.mark.parametrize("offset", ["", "1"])
async def test_forged_or_paged_share_queries_answer_nothing(
    sessionmaker: Sessions, clock: FakeClock, sharing: SharingService, offset: str
) -> None:
    """A notice's code, a forged code, or a next page of a Share query: no results."""
    notice_id = await _broadcast(sessionmaker, clock, "stoptorture", NOTICE)
    await sharing.load_key()
    genuine = sharing.code("broadcast", notice_id)
    assert genuine is not None
    forged = genuine[:-1] + ("a" if genuine[-1] != "a" else "b")
    answers = [await sharing.inline(q, offset) for q in (genuine, forged)]
    assert [a.results for a in answers] == [(), ()]


async def test_join_credits_a_new_chat_once(
    sessionmaker: Sessions, clock: FakeClock, sharing: SharingService
) -> None:
    """The first /start through a shared link credits one join; the second none."""
    await sharing.load_key()
    code = sharing.code(POST, 77)
    assert code is not None
    first = await sharing.join(NEW_CHAT, "private", "stoptorture", code)
    second = await sharing.join(NEW_CHAT, "private", "stoptorture", code)
    tid = await _topic_id(sessionmaker, "stoptorture")
    assert (first.credited, second.credited, await _totals(sessionmaker, POST, 77)) == (
        True,
        False,
        {tid: {"joins": 1}},
    )


async def test_join_with_an_unknown_topic_changes_nothing(
    sessionmaker: Sessions, sharing: SharingService
) -> None:
    """An unknown topic raises TopicNotFoundError; no chat, no join."""
    await sharing.load_key()
    code = sharing.code(POST, 77)
    assert code is not None
    with pytest.raises(TopicNotFoundError):
        await sharing.join(NEW_CHAT, "private", "no-such-topic", code)
    async with sessionmaker() as session:
        chat = await ChatRepo(session).get(NEW_CHAT)
    assert (chat, await _totals(sessionmaker, POST, 77)) == (None, {})


async def test_record_share_with_an_unknown_topic_counts_for_the_message(
    sessionmaker: Sessions, sharing: SharingService
) -> None:
    """A share whose topic is gone still counts, for the message as a whole (topic 0)."""
    await sharing.load_key()
    code = sharing.code(POST, 5)
    assert (await sharing.record_share(f"{code}:999999"), await sharing.record_share("x5:0")) == (
        True,
        False,
    )
    assert await _totals(sessionmaker, POST, 5) == {0: {"shares": 1}}


async def test_inline_lists_posts_without_a_topic(
    sessionmaker: Sessions, clock: FakeClock, sharing: SharingService
) -> None:
    """A post that matched no topic is listed (without a topic to follow), by words and among
    the latest; it used to fail the whole answer."""
    tid = await _topic_id(sessionmaker, "stoptorture")
    entries = [
        ParsedEntry(identity=i, url=f"https://news.example.org/{i}", title=t, summary="")
        for i, t in (("plain", "Prison news, no topic"), ("topical", "Prison torture report"))
    ]
    async with sessionmaker.begin() as session:
        ids = await PostRepo(session).insert_new(None, entries, clock.now(), announced=True)  # type: ignore[arg-type]
        await PostRepo(session).add_topics([(ids["topical"], tid)])
    by_words = await sharing.inline("prison")
    latest = await sharing.inline("")
    for answer in (by_words, latest):
        assert [
            (r.post.title if r.post else None, r.topic.slug if r.topic else None)
            for r in answer.results
        ] == [
            ("Prison torture report", "stoptorture"),
            ("Prison news, no topic", None),
        ]


async def test_delivery_renders_one_share_button_for_every_chat(
    sessionmaker: Sessions, clock: FakeClock, sharing: SharingService, topics: TopicService
) -> None:
    """The engine asks for a post's Share query once (its render cache) and every chat gets
    the same Share button, whose query the inline handler answers with that post."""
    chats = [1001, 1002, 1003]
    tid = await _topic_id(sessionmaker, "stoptorture")
    async with sessionmaker.begin() as session:
        for chat_id in chats:
            await ChatRepo(session).ensure(chat_id, "private", clock.now())
            await ChatRepo(session).subscribe(chat_id, tid, clock.now())
        entry = ParsedEntry(identity="e", url="https://example.org/e", title="T", summary="")
        ids = await PostRepo(session).insert_new(None, [entry], clock.now(), announced=True)  # type: ignore[arg-type]
        await PostRepo(session).add_topics([(ids["e"], tid)])
        await DeliveryRepo(session).fan_out_post(ids["e"], [tid], clock.now())
    await sharing.load_key()
    asked: list[tuple[str, int]] = []

    def share_query(kind: str, message_id: int, topic: TopicView | None) -> str | None:
        asked.append((kind, message_id))
        return sharing.share_query(kind, message_id, topic)

    async with FakeBotApi(limits=False) as api, Bot(api.token, base_url=api.base_url) as bot:
        engine = DeliveryEngine(
            sessionmaker, TelegramSender(bot), clock, rate=1000, tz=UTC, share_query=share_query
        )
        await engine.drain_all()
        queries = {
            b["switch_inline_query_chosen_chat"]["query"]
            for chat_id in chats
            for row in api.messages(chat_id)[0].buttons
            for b in row
            if b["text"] == "Share"
        }
    (query,) = queries
    answer = await sharing.inline(query)
    assert (asked, [r.post.id if r.post else None for r in answer.results]) == (
        [("post", ids["e"])],
        [ids["e"]],
    )
