"""Supporter use-cases on a real database (SQLite; PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Chat, Delivery, Subscription, User
from bot.db.repos import ChatRepo, DeliveryRepo, FeedRepo, PostRepo, TopicRepo
from bot.domain.types import DeliveryStatus, ParsedEntry, TopicSpec
from bot.errors import TopicNotFoundError
from bot.services.subscriptions import SubscriptionService
from tests.fakes.clock import FakeClock

CHAT = 4242
OTHER_CHAT = 5151
TOPICS = (
    TopicSpec(slug="stop-torture", name="StopTorture", emoji="✋", description="End torture."),
    TopicSpec(slug="write-for-rights", name="Write for Rights", description="Letters."),
    TopicSpec(slug="indigenous-rights", name="Indigenous rights", description="Land."),
    TopicSpec(slug="old-campaign", name="Old campaign"),
)

Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def topic_ids(sessionmaker: Maker, clock: FakeClock) -> dict[str, int]:
    """The three campaign topics and one archived topic, by slug."""
    async with sessionmaker.begin() as session:
        repo = TopicRepo(session)
        ids = {spec.slug: (await repo.add(spec, clock.now())).id for spec in TOPICS}
        archived = await repo.get(ids["old-campaign"])
        assert archived is not None
        archived.archived = True
    return ids


@pytest.fixture
def service(sessionmaker: Maker, clock: FakeClock) -> SubscriptionService:
    """The service under test."""
    return SubscriptionService(sessionmaker, clock)


async def _followed(sessionmaker: Maker, chat_id: int = CHAT) -> list[int]:
    async with sessionmaker() as session:
        return sorted(await ChatRepo(session).topic_ids(chat_id))


async def _chat(sessionmaker: Maker, chat_id: int = CHAT) -> Chat | None:
    async with sessionmaker() as session:
        return await session.get(Chat, chat_id)


async def _add_posts(
    sessionmaker: Maker, clock: FakeClock, count: int, topic_id: int | None = None
) -> list[int]:
    """Store `count` posts of a feed named "Amnesty news", newest last, tagged with a topic."""
    async with sessionmaker.begin() as session:
        feed = await FeedRepo(session).by_url("https://news.example.org/feed")
        if feed is None:
            feed = await FeedRepo(session).add(
                "https://news.example.org/feed", "Amnesty news", clock.now()
            )
        start = clock.now() - timedelta(days=count)
        entries = [
            ParsedEntry(
                identity=f"post-{topic_id}-{n}",
                url=f"https://news.example.org/{topic_id}/{n}",
                title=f"Post {n} of {topic_id}",
                summary="Summary",
                published=start + timedelta(hours=n),
            )
            for n in range(count)
        ]
        inserted = await PostRepo(session).insert_new(
            feed.id, entries, clock.now(), announced=True
        )
        ids = [inserted[e.identity] for e in entries]
        if topic_id is not None:
            await PostRepo(session).add_topics((post_id, topic_id) for post_id in ids)
        return ids


async def test_register_chat_creates_then_costs_no_write(service: SubscriptionService) -> None:
    """A new chat is created; registering it again while active writes nothing."""
    assert [await service.register_chat(CHAT, "private") for _ in range(2)] == [True, False]


async def test_register_chat_reactivates_an_inactive_chat(
    service: SubscriptionService, sessionmaker: Maker
) -> None:
    """A chat that talks to us again after being marked unreachable is active again."""
    await service.register_chat(CHAT, "private")
    await service.set_reachable(CHAT, False, "the user blocked the bot")
    await service.register_chat(CHAT, "private")
    chat = await _chat(sessionmaker)
    assert (chat is not None, chat and chat.active, chat and chat.inactive_reason) == (
        True,
        True,
        None,
    )


async def test_list_topics_flags_followed_topics_in_name_order(
    service: SubscriptionService, topic_ids: dict[str, int]
) -> None:
    """Active topics come in name order, with `subscribed` set for the chat's topics."""
    await service.subscribe(CHAT, "StopTorture", chat_type="private")
    listed = [(t.slug, t.subscribed) for t in await service.list_topics(CHAT)]
    assert listed == [
        ("indigenous-rights", False),
        ("stop-torture", True),
        ("write-for-rights", False),
    ]


@pytest.mark.parametrize(
    "key",
    [
        "write for rights",
        "WriteForRights",
        "#write-for-rights",
        "write_for_rights",
        "  WRITE-FOR-RIGHTS ",
        "Wríte för Rîghts",
        "write-for-rights",
    ],
)
async def test_subscribe_matches_topic_keys_forgivingly(
    service: SubscriptionService, topic_ids: dict[str, int], sessionmaker: Maker, key: str
) -> None:
    """Case, spaces, hyphens, underscores, accents and a leading '#' do not matter."""
    change = await service.subscribe(CHAT, key, chat_type="private")
    assert (change.topic.slug, change.changed, await _followed(sessionmaker)) == (
        "write-for-rights",
        True,
        [topic_ids["write-for-rights"]],
    )


async def test_subscribe_twice_reports_no_change(
    service: SubscriptionService, topic_ids: dict[str, int]
) -> None:
    """Subscribing to a followed topic again says it changed nothing."""
    await service.subscribe(CHAT, "stop-torture", chat_type="private")
    change = await service.subscribe(CHAT, "StopTorture", chat_type="private")
    assert (change.changed, change.topic.subscribed) == (False, True)


@pytest.mark.parametrize(
    ("key", "suggestions"),
    [
        ("write for right", ("Write for Rights",)),
        ("torture", ("StopTorture",)),
        ("indigenus", ("Indigenous rights",)),
        ("zzzz", ()),
    ],
)
async def test_subscribe_unknown_topic_suggests_close_names(
    service: SubscriptionService,
    topic_ids: dict[str, int],
    key: str,
    suggestions: tuple[str, ...],
) -> None:
    """An unknown key raises TopicNotFoundError carrying the closest topic names."""
    with pytest.raises(TopicNotFoundError) as caught:
        await service.subscribe(CHAT, key, chat_type="private")
    assert (caught.value.key, caught.value.suggestions) == (key, suggestions)


async def test_subscribe_suggests_at_most_three_topics(
    service: SubscriptionService,
    topic_ids: dict[str, int],
    sessionmaker: Maker,
    clock: FakeClock,
) -> None:
    """Even when many topics are close, at most three names are suggested."""
    async with sessionmaker.begin() as session:
        for n in range(5):
            await TopicRepo(session).add(
                TopicSpec(slug=f"rights-{n}", name=f"Rights {n}"), clock.now()
            )
    with pytest.raises(TopicNotFoundError) as caught:
        await service.subscribe(CHAT, "rights", chat_type="private")
    assert len(caught.value.suggestions) == 3


async def test_subscribe_to_archived_topic_is_not_found(
    service: SubscriptionService, topic_ids: dict[str, int], sessionmaker: Maker
) -> None:
    """An archived topic cannot be followed any more."""
    with pytest.raises(TopicNotFoundError):
        await service.subscribe(CHAT, "old-campaign", chat_type="private")
    assert await _followed(sessionmaker) == []


async def test_subscribe_with_huge_key_is_not_found_without_suggestions(
    service: SubscriptionService, topic_ids: dict[str, int]
) -> None:
    """A 10,000-character key is answered as unknown, quickly and without suggestions."""
    with pytest.raises(TopicNotFoundError) as caught:
        await service.subscribe(CHAT, "write for rights " * 600, chat_type="private")
    assert caught.value.suggestions == ()


async def test_subscribe_creates_the_chat(
    service: SubscriptionService, topic_ids: dict[str, int], sessionmaker: Maker
) -> None:
    """Subscribing from a chat never seen before records the chat with its type."""
    await service.subscribe(-100123, "stop-torture", chat_type="supergroup")
    chat = await _chat(sessionmaker, -100123)
    assert (chat and chat.type, chat and chat.active) == ("supergroup", True)


async def test_unsubscribe_by_key(
    service: SubscriptionService, topic_ids: dict[str, int], sessionmaker: Maker
) -> None:
    """Unsubscribing by a forgiving name removes the subscription."""
    await service.subscribe(CHAT, "stop-torture", chat_type="private")
    await service.subscribe(CHAT, "write-for-rights", chat_type="private")
    change = await service.unsubscribe(CHAT, "#StopTorture")
    assert (change.changed, await _followed(sessionmaker)) == (
        True,
        [topic_ids["write-for-rights"]],
    )


async def test_unsubscribe_from_unfollowed_topic_reports_no_change(
    service: SubscriptionService, topic_ids: dict[str, int]
) -> None:
    """Unsubscribing from a topic the chat does not follow changes nothing."""
    change = await service.unsubscribe(CHAT, "stop-torture")
    assert (change.changed, change.topic.subscribed) == (False, False)


async def test_unsubscribe_unknown_topic_raises(
    service: SubscriptionService, topic_ids: dict[str, int]
) -> None:
    """An unknown key in /unsubscribe raises TopicNotFoundError."""
    with pytest.raises(TopicNotFoundError):
        await service.unsubscribe(CHAT, "no such thing")


async def test_unsubscribe_all_returns_the_topics_and_leaves_none(
    service: SubscriptionService, topic_ids: dict[str, int], sessionmaker: Maker
) -> None:
    """`unsubscribe_all` drops every subscription and says which ones."""
    for key in ("stop-torture", "indigenous-rights"):
        await service.subscribe(CHAT, key, chat_type="private")
    dropped = await service.unsubscribe_all(CHAT)
    assert ([t.slug for t in dropped], await _followed(sessionmaker)) == (
        ["indigenous-rights", "stop-torture"],
        [],
    )


async def test_unsubscribe_all_keeps_other_chats(
    service: SubscriptionService, topic_ids: dict[str, int], sessionmaker: Maker
) -> None:
    """Another chat's subscriptions survive `unsubscribe_all`."""
    await service.subscribe(CHAT, "stop-torture", chat_type="private")
    await service.subscribe(OTHER_CHAT, "stop-torture", chat_type="private")
    await service.unsubscribe_all(CHAT)
    assert await _followed(sessionmaker, OTHER_CHAT) == [topic_ids["stop-torture"]]


async def test_toggle_subscribes_then_unsubscribes(
    service: SubscriptionService, topic_ids: dict[str, int]
) -> None:
    """Two toggles of one topic follow it, then stop following it."""
    topic_id = topic_ids["indigenous-rights"]
    states = [
        (await service.toggle(CHAT, topic_id, chat_type="private")).topic.subscribed
        for _ in range(2)
    ]
    assert states == [True, False]


@pytest.mark.parametrize("slug", ["old-campaign", None])
async def test_toggle_unknown_or_archived_topic_raises(
    service: SubscriptionService,
    topic_ids: dict[str, int],
    sessionmaker: Maker,
    slug: str | None,
) -> None:
    """A toggle for a missing or archived topic id raises and changes nothing."""
    topic_id = topic_ids[slug] if slug else 999_999
    with pytest.raises(TopicNotFoundError):
        await service.toggle(CHAT, topic_id, chat_type="private")
    assert await _followed(sessionmaker) == []


@pytest.mark.parametrize("entry_point", ["command", "button"])
async def test_command_and_button_leave_identical_state(
    service: SubscriptionService,
    topic_ids: dict[str, int],
    sessionmaker: Maker,
    entry_point: str,
) -> None:
    """Subscribing by name and by the picker button store the same rows."""
    if entry_point == "command":
        await service.subscribe(CHAT, "Write for Rights", chat_type="private")
    else:
        await service.toggle(CHAT, topic_ids["write-for-rights"], chat_type="private")
    async with sessionmaker() as session:
        rows = (await session.execute(select(Subscription.chat_id, Subscription.topic_id))).all()
        chat = await session.get(Chat, CHAT)
    assert ([tuple(r) for r in rows], chat and chat.type) == (
        [(CHAT, topic_ids["write-for-rights"])],
        "private",
    )


async def test_unsubscribe_topic_is_idempotent(
    service: SubscriptionService, topic_ids: dict[str, int]
) -> None:
    """The button under a post unsubscribes once; a second press changes nothing."""
    await service.subscribe(CHAT, "stop-torture", chat_type="private")
    changes = [
        (await service.unsubscribe_topic(CHAT, topic_ids["stop-torture"])).changed
        for _ in range(2)
    ]
    assert changes == [True, False]


async def test_unsubscribe_topic_unknown_id_raises(service: SubscriptionService) -> None:
    """The unsubscribe button for a topic that no longer exists raises."""
    with pytest.raises(TopicNotFoundError):
        await service.unsubscribe_topic(CHAT, 123_456)


async def test_chat_topics_lists_only_followed_active_topics(
    service: SubscriptionService, topic_ids: dict[str, int]
) -> None:
    """`chat_topics` is the chat's followed topics, each flagged subscribed."""
    await service.subscribe(CHAT, "write-for-rights", chat_type="private")
    topics = await service.chat_topics(CHAT)
    assert [(t.slug, t.subscribed) for t in topics] == [("write-for-rights", True)]


async def test_latest_pages_five_newest_first_with_has_next(
    service: SubscriptionService,
    sessionmaker: Maker,
    clock: FakeClock,
) -> None:
    """Twelve posts make pages of 5, 5 and 2, newest first, with the feed name as source."""
    await _add_posts(sessionmaker, clock, 12)
    pages = [await service.latest(page=n) for n in range(3)]
    summary = [
        ([p.title for p in page.posts][:1], len(page.posts), page.has_next) for page in pages
    ]
    assert (summary, pages[0].posts[0].source) == (
        [
            (["Post 11 of None"], 5, True),
            (["Post 6 of None"], 5, True),
            (["Post 1 of None"], 2, False),
        ],
        "Amnesty news",
    )


async def test_latest_of_one_topic_by_key(
    service: SubscriptionService,
    topic_ids: dict[str, int],
    sessionmaker: Maker,
    clock: FakeClock,
) -> None:
    """`/latest <topic>` shows only that topic's posts."""
    await _add_posts(sessionmaker, clock, 2, topic_ids["stop-torture"])
    await _add_posts(sessionmaker, clock, 3, topic_ids["write-for-rights"])
    page = await service.latest(topic_key="stoptorture")
    assert (page.topic and page.topic.slug, len(page.posts), page.has_next) == (
        "stop-torture",
        2,
        False,
    )


async def test_latest_by_topic_id_matches_latest_by_key(
    service: SubscriptionService,
    topic_ids: dict[str, int],
    sessionmaker: Maker,
    clock: FakeClock,
) -> None:
    """The ◀ ▶ buttons (topic id) and the command (topic key) show the same page."""
    await _add_posts(sessionmaker, clock, 7, topic_ids["stop-torture"])
    by_key = await service.latest(topic_key="StopTorture", page=1)
    by_id = await service.latest(topic_id=topic_ids["stop-torture"], page=1)
    assert by_key == by_id


async def test_latest_unknown_topic_id_raises(service: SubscriptionService) -> None:
    """A page button naming a topic that no longer exists raises."""
    with pytest.raises(TopicNotFoundError):
        await service.latest(topic_id=987_654)


async def test_forget_deletes_chat_subscriptions_deliveries_and_user(
    service: SubscriptionService,
    topic_ids: dict[str, int],
    sessionmaker: Maker,
    clock: FakeClock,
) -> None:
    """`forget` removes every row about the chat and the user, and counts them."""
    await service.remember_user(CHAT, "Alice")
    await service.subscribe(CHAT, "stop-torture", chat_type="private")
    await service.subscribe(CHAT, "write-for-rights", chat_type="private")
    post_ids = await _add_posts(sessionmaker, clock, 1, topic_ids["stop-torture"])
    async with sessionmaker.begin() as session:
        await DeliveryRepo(session).fan_out_post(
            post_ids[0], [topic_ids["stop-torture"]], clock.now()
        )
    result = await service.forget(CHAT, CHAT)
    async with sessionmaker() as session:
        left = [
            len((await session.execute(select(model))).all())
            for model in (Chat, Subscription, Delivery, User)
        ]
    assert ((result.chat, result.subscriptions, result.deliveries, result.user), left) == (
        (True, 2, 1, True),
        [0, 0, 0, 0],
    )


async def test_forget_with_nothing_stored(service: SubscriptionService) -> None:
    """Forgetting an unknown chat and user deletes nothing and says so."""
    assert (await service.forget(CHAT, CHAT)).nothing is True


async def test_forget_keeps_other_chats(
    service: SubscriptionService, topic_ids: dict[str, int], sessionmaker: Maker
) -> None:
    """Forgetting one chat leaves another chat's subscriptions alone."""
    await service.subscribe(OTHER_CHAT, "stop-torture", chat_type="private")
    await service.subscribe(CHAT, "stop-torture", chat_type="private")
    await service.forget(CHAT, CHAT)
    assert await _followed(sessionmaker, OTHER_CHAT) == [topic_ids["stop-torture"]]


async def test_set_unreachable_drops_pending_deliveries(
    service: SubscriptionService,
    topic_ids: dict[str, int],
    sessionmaker: Maker,
    clock: FakeClock,
) -> None:
    """An unreachable chat becomes inactive and its pending deliveries are dropped."""
    await service.subscribe(CHAT, "stop-torture", chat_type="private")
    post_ids = await _add_posts(sessionmaker, clock, 1, topic_ids["stop-torture"])
    async with sessionmaker.begin() as session:
        await DeliveryRepo(session).fan_out_post(
            post_ids[0], [topic_ids["stop-torture"]], clock.now()
        )
    await service.set_reachable(CHAT, False, "the user blocked the bot")
    chat = await _chat(sessionmaker)
    async with sessionmaker() as session:
        statuses = (await session.execute(select(Delivery.status))).scalars().all()
    assert (chat and chat.active, chat and chat.inactive_reason, statuses) == (
        False,
        "the user blocked the bot",
        [DeliveryStatus.DROPPED.value],
    )


async def test_set_reachable_again_reactivates(
    service: SubscriptionService, sessionmaker: Maker
) -> None:
    """A chat that unblocks the bot (or re-adds it) is active again."""
    await service.set_reachable(-1001, True, "", chat_type="supergroup")
    await service.set_reachable(-1001, False, "the bot was removed from the group")
    await service.set_reachable(-1001, True, "", chat_type="supergroup")
    chat = await _chat(sessionmaker, -1001)
    assert (chat and chat.type, chat and chat.active) == ("supergroup", True)


async def test_remember_user_stores_only_id_and_lowercase_username(
    service: SubscriptionService, sessionmaker: Maker
) -> None:
    """A user row holds the numeric id, the lower-cased @username and the default role."""
    await service.remember_user(77, "Alice_Campaigns")
    async with sessionmaker() as session:
        row = (await session.execute(select(User.id, User.username, User.role))).one()
    assert tuple(row) == (77, "alice_campaigns", "supporter")


async def test_remember_unchanged_user_costs_no_write(service: SubscriptionService) -> None:
    """The second sighting of an unchanged user is answered from memory."""
    writes = [await service.remember_user(77, name) for name in ("Alice", "alice", "bob")]
    assert writes == [True, False, True]


async def test_remember_user_keeps_the_role(
    service: SubscriptionService, sessionmaker: Maker
) -> None:
    """Updating a username never resets a user's role."""
    await service.remember_user(77, "alice")
    async with sessionmaker.begin() as session:
        user = await session.get(User, 77)
        assert user is not None
        user.role = "organiser"
    await service.remember_user(77, "alice2")
    async with sessionmaker() as session:
        row = (await session.execute(select(User.username, User.role))).one()
    assert tuple(row) == ("alice2", "organiser")


async def test_remember_user_moves_a_username_to_its_new_owner(
    service: SubscriptionService, sessionmaker: Maker
) -> None:
    """When another account takes a username, the old row loses it (grants stay unambiguous)."""
    await service.remember_user(1, "alice")
    await service.remember_user(2, "Alice")
    async with sessionmaker() as session:
        rows = (await session.execute(select(User.id, User.username).order_by(User.id))).all()
    assert [tuple(r) for r in rows] == [(1, None), (2, "alice")]


async def test_latest_page_is_capped_without_a_next_page(
    service: SubscriptionService, sessionmaker: Maker, clock: FakeClock
) -> None:
    """Pages stop at 9999 (what the ◀ ▶ buttons can carry), and the last one offers no next."""
    await _add_posts(sessionmaker, clock, 1)
    page = await service.latest(page=20_000)
    assert (page.page, page.has_next, page.posts) == (9999, False, ())


# -- the chat's language ------------------------------------------------------------------------


async def test_language_set_at_first_contact_only(sessionmaker: Maker, clock: FakeClock) -> None:
    """fr-CA at first contact stores fr; a later English message changes nothing; a chat that
    said nothing stays unset (the default) until a message says it; forgetting clears it."""
    service = SubscriptionService(sessionmaker, clock, "en")
    await service.register_chat(CHAT, "private", "fr-CA")
    await service.register_chat(CHAT, "private", "en")
    await service.register_chat(CHAT + 1, "private", None)
    silent = (await service.stored_language(CHAT + 1), await service.chat_language(CHAT + 1))
    await service.register_chat(CHAT + 1, "private", "de")
    fresh = SubscriptionService(sessionmaker, clock, "fr")  # a restart: read from the database
    stored = (await fresh.chat_language(CHAT), await fresh.chat_language(CHAT + 1))
    await fresh.set_language(CHAT + 1, "private", "fr")
    await fresh.forget(CHAT, CHAT)
    assert (
        silent,
        stored,
        await fresh.chat_language(CHAT + 1),
        await fresh.stored_language(CHAT),
        await fresh.chat_language(CHAT),
    ) == ((None, "en"), ("fr", "en"), "fr", None, "fr")
