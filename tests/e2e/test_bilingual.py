"""English and French end to end (issue 10): topic names per language, twin posts, bilingual
broadcasts. The whole bot against the fake Bot API and a local feed server, with a fake clock.

Chats read English (4001), French (4002) or nothing set (4003, the default: English). Until
/language exists, a chat's language is set in the database (ChatRepo.set_language).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import Broadcast, Delivery, Post
from bot.db.repos import ChatRepo
from bot.services.subscriptions import SubscriptionService
from tests.e2e.conftest import all_marked_sent, runtime_of
from tests.e2e.test_supporters import button_data, button_texts, press, say
from tests.fakes.botapi import BotMessage, FakeBotApi
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss

ADMIN = 2001
EN, FR, UNSET = 4001, 4002, 4003
LANGUAGE = {EN: "en", FR: "fr", UNSET: None}
ACTION = "https://act.example.org/sign"
NBSP = "\u00a0"


@pytest.fixture
def bilingual_app(bot_settings: Callable[..., Settings], engine: Any) -> Callable[..., Any]:
    """Start the bot with ADMIN as an admin, on a fake clock, the three chats registered."""

    @asynccontextmanager
    async def make(
        clock: FakeClock, admin_language: str | None = None, default_language: str = "en"
    ) -> AsyncIterator[Any]:
        settings = bot_settings(admin_ids=[ADMIN], default_language=default_language)
        application = make_application(settings, engine=engine, clock=clock)
        async with running(application):
            runtime = runtime_of(application)
            service = SubscriptionService(runtime.sessionmaker, runtime.clock)
            languages = {**LANGUAGE, ADMIN: admin_language}
            for chat_id in languages:
                await service.register_chat(chat_id, "private")
            async with runtime.sessionmaker.begin() as session:
                for chat_id, language in languages.items():
                    await ChatRepo(session).set_language(chat_id, language, clock.now())
            yield application

    return make


async def subscribe(
    app: AnyApplication, slug: str, chats: tuple[int, ...] = (EN, FR, UNSET)
) -> None:
    """Subscribe chats to a topic through the bot's own service."""
    runtime = runtime_of(app)
    service = SubscriptionService(runtime.sessionmaker, runtime.clock)
    for chat_id in chats:
        await service.subscribe(chat_id, slug, chat_type="private")


# -- topic names per language --------------------------------------------------------------------


async def test_french_chat_sees_french_topics_and_subscribes_by_french_name(
    api: FakeBotApi, bilingual_app: Callable[..., Any]
) -> None:
    """/topics is in each chat's language (in that language's alphabetical order);
    /subscribe takes the French name, forgivingly, and answers the French chat in French."""
    async with bilingual_app(FakeClock()):
        (subscribed,) = await say(api, FR, "/subscribe halte a la TORTURE")
        (french,) = await say(api, FR, "/topics")
        (english,) = await say(api, EN, "/topics")
        (by_french_name,) = await say(api, EN, "/subscribe Écrire pour les droits")
    assert (
        subscribed.text,
        button_texts(french),
        "Torture, mauvais traitements et disparitions forcées" in (french.text or ""),
        button_texts(english),
        by_french_name.text,
    ) == (
        f"✅ Vous suivez désormais ✋ Halte à la torture{NBSP}: "
        "les nouvelles publications arriveront ici.",
        [
            "➕ 🪶 Droits des peuples autochtones",
            "➕ ✉️ Écrire pour les droits",
            "✅ ✋ Halte à la torture",
        ],
        True,
        ["➕ 🪶 Indigenous rights", "➕ ✋ StopTorture", "➕ ✉️ Write for Rights"],
        "✅ You now follow ✉️ Write for Rights: new posts will arrive here.",
    )


async def test_edittopic_sets_the_french_name(
    api: FakeBotApi, bilingual_app: Callable[..., Any]
) -> None:
    """/edittopic <slug> name:fr and description:fr: French chats read them, and the new
    name is a topic argument; "-" clears the French description."""
    async with bilingual_app(FakeClock()):
        (named,) = await say(api, ADMIN, "/edittopic stoptorture name:fr Stop à la torture")
        (described,) = await say(api, ADMIN, "/edittopic stoptorture description:fr Un texte.")
        (subscribed,) = await say(api, FR, "/subscribe stop a la torture")
        (topics,) = await say(api, FR, "/topics")
        (clash,) = await say(api, ADMIN, "/edittopic write-for-rights name:fr StopTorture")
        (cleared,) = await say(api, ADMIN, "/edittopic stoptorture description:fr -")
    assert (
        "French: Stop à la torture" in (named.text or ""),
        "French: Stop à la torture — Un texte." in (described.text or ""),
        subscribed.text,
        "✅ ✋ Stop à la torture — Un texte." in (topics.text or ""),
        "is taken by the topic" in (clash.text or ""),
        "French: Stop à la torture\n" in (cleared.text or ""),
    ) == (
        True,
        True,
        f"✅ Vous suivez désormais ✋ Stop à la torture{NBSP}: "
        "les nouvelles publications arriveront ici.",
        True,
        True,
        True,
    )


# -- feed languages and twin posts --------------------------------------------------------------

OLD_EN = {"title": "Office news", "link": "https://amnesty.example.ca/en/office", "guid": "en-0"}
OLD_FR = {"title": "Nouvelles", "link": "https://amnesty.example.ca/fr/bureau", "guid": "fr-0"}
TORTURE_EN = {
    "title": "Iran: torture survivors speak out",
    "link": "https://amnesty.example.ca/en/iran-torture",
    "guid": "en-1",
}
TORTURE_FR = {
    "title": "Iran : des survivants de la torture témoignent",
    "link": "https://amnesty.example.ca/fr/iran-torture",
    "guid": "fr-1",
}


async def _bilingual_feeds(app: AnyApplication, feeds: FeedServer) -> tuple[int, int]:
    """The organisation's English and French feeds, primed (their languages read)."""
    runtime = runtime_of(app)
    feeds.add("/en.xml", rss([OLD_EN], title="Amnesty Canada", language="en-CA"))
    feeds.add("/fr.xml", rss([OLD_FR], title="Amnistie Canada", language="fr-CA"))
    en = await runtime.feeds.add_feed(feeds.url("/en.xml"))
    fr = await runtime.feeds.add_feed(feeds.url("/fr.xml"))
    await runtime.ingest.poll_feed(en.id)
    await runtime.ingest.poll_feed(fr.id)
    return en.id, fr.id


async def _deliveries(app: AnyApplication) -> dict[int, list[tuple[str, str]]]:
    """Each chat's post deliveries: (post language, "held" if pending and not yet due, else
    "due" if pending, else its status)."""
    runtime = runtime_of(app)
    now = runtime.clock.now()
    async with runtime.sessionmaker() as session:
        result = await session.execute(
            select(Delivery.chat_id, Post.language, Delivery.status, Delivery.next_attempt_at)
            .join(Post, Post.id == Delivery.post_id)
            .order_by(Delivery.chat_id, Delivery.id)
        )
        found: dict[int, list[tuple[str, str]]] = {}
        for chat_id, language, status, due in result.all():
            state = status if status != "pending" else ("held" if due > now else "due")
            found.setdefault(int(chat_id), []).append((language, state))
        return found


async def _drained(app: AnyApplication) -> None:
    """Wake the delivery engine and wait until no due delivery is pending."""
    runtime = runtime_of(app)
    runtime.wake_delivery()

    def due() -> Any:
        return select(func.count()).where(
            Delivery.status == "pending", Delivery.next_attempt_at <= runtime.clock.now()
        )

    async def check() -> bool:
        async with runtime.sessionmaker() as session:
            return int(await session.scalar(due()) or 0) == 0

    for _ in range(500):
        if await check():
            return
        await api_pause()
    raise TimeoutError("due deliveries still pending")


async def api_pause() -> None:
    """Yield to the bot between database checks (there is no event for a committed mark)."""
    import asyncio

    await asyncio.sleep(0.01)


async def test_twin_arriving_a_poll_later_reaches_each_chat_once_in_its_language(
    api: FakeBotApi, bilingual_app: Callable[..., Any], feeds: FeedServer
) -> None:
    """The English post arrives first: English chats get it at once, the French chat waits;
    the French version comes one poll later and reaches the French chat only. When the
    window ends, nothing more is sent to anyone."""
    clock = FakeClock()
    async with bilingual_app(clock) as app:
        runtime = runtime_of(app)
        await subscribe(app, "stoptorture")
        en, fr = await _bilingual_feeds(app, feeds)
        feeds.add("/en.xml", rss([TORTURE_EN, OLD_EN], language="en-CA"))
        await runtime.ingest.poll_feed(en)
        english = await api.wait_for_message(EN, lambda m: "survivors" in (m.text or ""))
        unset = await api.wait_for_message(UNSET, lambda m: "survivors" in (m.text or ""))
        await _drained(app)
        held = await _deliveries(app)
        clock.advance(minutes=5)  # one poll later
        feeds.add("/fr.xml", rss([TORTURE_FR, OLD_FR], language="fr-CA"))
        await runtime.ingest.poll_feed(fr)
        french = await api.wait_for_message(FR, lambda m: "survivants" in (m.text or ""))
        clock.advance(minutes=40)  # past the twin window
        await _drained(app)
        async with runtime.sessionmaker() as session:
            twin_of = await session.scalar(select(Post.twin_of).where(Post.twin_of.is_not(None)))
            english_id = await session.scalar(
                select(Post.id).where(Post.url == TORTURE_EN["link"])
            )
        assert (
            held,
            await _deliveries(app),
            twin_of == english_id,
            {c: api.sent_per_chat().get(c, 0) for c in (EN, FR, UNSET)},
            button_texts(french)[-1],
            button_texts(english)[-1],
            unset.text == english.text,
        ) == (
            {EN: [("en", "sent")], FR: [("en", "held")], UNSET: [("en", "sent")]},
            {EN: [("en", "sent")], FR: [("fr", "sent")], UNSET: [("en", "sent")]},
            True,
            {EN: 1, FR: 1, UNSET: 1},
            "Me désabonner de Halte à la torture",
            "Unsubscribe from StopTorture",
            True,
        )


async def test_default_language_fr_holds_chats_without_language_for_the_french_twin(
    api: FakeBotApi, bilingual_app: Callable[..., Any], feeds: FeedServer
) -> None:
    """DEFAULT_LANGUAGE=fr: the chat with no language stored reads French everywhere: the
    English post holds it with the French chat, and the French twin reaches both."""
    clock = FakeClock()
    async with bilingual_app(clock, default_language="fr") as app:
        runtime = runtime_of(app)
        await subscribe(app, "stoptorture")
        en, fr = await _bilingual_feeds(app, feeds)
        feeds.add("/en.xml", rss([TORTURE_EN, OLD_EN], language="en-CA"))
        await runtime.ingest.poll_feed(en)
        await api.wait_for_message(EN, lambda m: "survivors" in (m.text or ""))
        await _drained(app)
        held = await _deliveries(app)
        clock.advance(minutes=5)
        feeds.add("/fr.xml", rss([TORTURE_FR, OLD_FR], language="fr-CA"))
        await runtime.ingest.poll_feed(fr)
        unset = await api.wait_for_message(UNSET, lambda m: "survivants" in (m.text or ""))
        await api.wait_for_message(FR, lambda m: "survivants" in (m.text or ""))
        clock.advance(minutes=40)
        await _drained(app)
        assert (
            held,
            await _deliveries(app),
            {c: api.sent_per_chat().get(c, 0) for c in (EN, FR, UNSET)},
            button_texts(unset)[-1],
        ) == (
            {EN: [("en", "sent")], FR: [("en", "held")], UNSET: [("en", "held")]},
            {EN: [("en", "sent")], FR: [("fr", "sent")], UNSET: [("fr", "sent")]},
            {EN: 1, FR: 1, UNSET: 1},
            "Me désabonner de Halte à la torture",
        )


async def test_a_post_without_twin_reaches_the_other_language_after_the_window(
    api: FakeBotApi, bilingual_app: Callable[..., Any], feeds: FeedServer
) -> None:
    """A French-only campaign: the French chat gets it at once, English readers get the
    version there is when the twin window ends (no post is lost for want of a twin)."""
    clock = FakeClock()
    async with bilingual_app(clock) as app:
        runtime = runtime_of(app)
        await subscribe(app, "stoptorture")
        _, fr = await _bilingual_feeds(app, feeds)
        feeds.add("/fr.xml", rss([TORTURE_FR, OLD_FR], language="fr-CA"))
        await runtime.ingest.poll_feed(fr)
        await api.wait_for_message(FR, lambda m: "survivants" in (m.text or ""))
        await _drained(app)
        early = {c: api.sent_per_chat().get(c, 0) for c in (EN, FR, UNSET)}
        clock.advance(minutes=31)
        await _drained(app)
        late = await api.wait_for_message(EN, lambda m: "survivants" in (m.text or ""))
        await api.wait_for_message(UNSET, lambda m: "survivants" in (m.text or ""))
    assert (early, {c: api.sent_per_chat().get(c, 0) for c in (EN, FR, UNSET)}) == (
        {EN: 0, FR: 1, UNSET: 0},
        {EN: 1, FR: 1, UNSET: 1},
    )
    assert button_texts(late)[-1] == "Unsubscribe from StopTorture"


async def test_feedlanguage_fixes_a_feed_language_and_auto_reads_it_again(
    api: FakeBotApi, bilingual_app: Callable[..., Any], feeds: FeedServer
) -> None:
    """/feedlanguage <id> fr|auto; a bad value gets the reason; /feeds shows the language."""
    async with bilingual_app(FakeClock()) as app:
        en, _ = await _bilingual_feeds(app, feeds)
        (fixed,) = await say(api, ADMIN, f"/feedlanguage {en} fr")
        (again,) = await say(api, ADMIN, f"/feedlanguage {en} FR")
        (listing,) = await say(api, ADMIN, "/feeds")
        (bad,) = await say(api, ADMIN, f"/feedlanguage {en} klingon")
        (auto,) = await say(api, ADMIN, f"/feedlanguage {en} auto")
        await runtime_of(app).ingest.poll_feed(en)
        (after,) = await say(api, ADMIN, "/feeds")
    assert (
        "language: fr (set by an admin)" in (fixed.text or ""),
        "nothing changed" in (again.text or ""),
        "language: fr (set by an admin)" in (listing.text or ""),
        bad.text,
        "reads the language from the feed" in (auto.text or ""),
        "language: en (from the feed)" in (after.text or ""),
    ) == (
        True,
        True,
        True,
        "Sorry, the language must be en, fr, other or auto.\nNothing was changed.",
        True,
        True,
    )


# -- bilingual broadcasts ----------------------------------------------------------------------


async def _compose_bilingual(
    api: FakeBotApi,
    first: str,
    second: str | None,
    command: str = "/broadcast stoptorture",
    no_button: str = "No button",
) -> tuple[BotMessage, list[BotMessage]]:
    """/broadcast stoptorture as ADMIN: the message, the other version (or skip), the link,
    no action button (`no_button`: that button's text in the admin's language). Returns the
    version prompt and the messages up to the summary."""
    await say(api, ADMIN, command)
    (prompt,) = await say(api, ADMIN, first)
    await say(api, ADMIN, second if second is not None else "skip")
    (action,) = await say(api, ADMIN, ACTION)
    before = len(api.messages(ADMIN))
    await press(api, ADMIN, action, button_data(action, no_button))
    count = 5 if second is not None else 2  # two headed previews, or one, then the summary
    shown = await api.wait_until(
        lambda: (
            api.messages(ADMIN)[before:] if len(api.messages(ADMIN)) >= before + count else None
        ),
        what="previews and summary",
    )
    return prompt, shown


async def test_bilingual_broadcast_reaches_each_chat_in_its_language(
    api: FakeBotApi, bilingual_app: Callable[..., Any]
) -> None:
    """English written first, French added: the preview shows both versions and the audience
    per language; English chats (and the unset one) get English, the French chat French."""
    async with bilingual_app(FakeClock()) as app:
        await subscribe(app, "stoptorture")
        prompt, shown = await _compose_bilingual(api, "Act now for Ahmed", "Agissez pour Ahmed")
        *previews, summary = shown
        await press(api, ADMIN, summary, button_data(summary, "Send now"))
        messages = {c: await api.wait_for_message(c) for c in (EN, FR, UNSET)}
        async with runtime_of(app).sessionmaker() as session:
            row = (await session.execute(select(Broadcast))).scalar_one()
        await all_marked_sent(app, row.id)
    assert (
        "Now the French version" in (prompt.text or ""),
        [m.text for m in previews],
        "By language: English: 2 · French: 1." in (summary.text or ""),
        {c: m.text for c, m in messages.items()},
        button_texts(messages[FR])[-1],
        (row.language, row.versions),
    ) == (
        True,
        [
            "👇 The English version:",
            "Act now for Ahmed",
            "👇 The French version:",
            "Agissez pour Ahmed",
        ],
        True,
        {EN: "Act now for Ahmed", FR: "Agissez pour Ahmed", UNSET: "Act now for Ahmed"},
        "Me désabonner de Halte à la torture",
        ("en", {"fr": "Agissez pour Ahmed"}),
    )


async def test_default_language_fr_counts_and_serves_chats_without_language_in_french(
    api: FakeBotApi, bilingual_app: Callable[..., Any]
) -> None:
    """DEFAULT_LANGUAGE=fr: the preview counts the chat with no language as French, and it
    gets the French version."""
    async with bilingual_app(FakeClock(), admin_language="en", default_language="fr") as app:
        await subscribe(app, "stoptorture")
        _, shown = await _compose_bilingual(api, "Act now for Ahmed", "Agissez pour Ahmed")
        summary = shown[-1]
        await press(api, ADMIN, summary, button_data(summary, "Send now"))
        messages = {c: await api.wait_for_message(c) for c in (EN, FR, UNSET)}
    assert "By language: English: 1 · French: 2." in (summary.text or "")
    assert {c: m.text for c, m in messages.items()} == {
        EN: "Act now for Ahmed",
        FR: "Agissez pour Ahmed",
        UNSET: "Agissez pour Ahmed",
    }


async def test_skipped_version_falls_back_to_the_one_written_first(
    api: FakeBotApi, bilingual_app: Callable[..., Any]
) -> None:
    """A French-speaking organiser names the topic in French, writes French and skips
    English: every chat gets the French text, and the preview says (in French) that English
    readers get the French version."""
    async with bilingual_app(FakeClock(), admin_language="fr") as app:
        await subscribe(app, "stoptorture")
        prompt, shown = await _compose_bilingual(
            api, "Agissez pour Ahmed", None, "/broadcast Halte à la torture", "Aucun bouton"
        )
        preview, summary = shown
        await press(api, ADMIN, summary, button_data(summary, "Envoyer maintenant"))
        messages = {c: await api.wait_for_message(c) for c in (EN, FR, UNSET)}
    assert (
        "anglais" in (prompt.text or ""),
        preview.text,
        f"anglais{NBSP}: 2 (elles reçoivent la version française)" in (summary.text or ""),
        {c: m.text for c, m in messages.items()},
    ) == (
        True,
        "Agissez pour Ahmed",
        True,
        {EN: "Agissez pour Ahmed", FR: "Agissez pour Ahmed", UNSET: "Agissez pour Ahmed"},
    )


async def test_version_step_asks_again_for_text(
    api: FakeBotApi, bilingual_app: Callable[..., Any]
) -> None:
    """A photo where the French version is asked for: asked again, the draft goes on."""
    async with bilingual_app(FakeClock()) as app:
        await subscribe(app, "stoptorture")
        await say(api, ADMIN, "/broadcast stoptorture")
        await say(api, ADMIN, "Act now")
        before = len(api.messages(ADMIN))
        api.send_formatted(ADMIN, photo=True, caption="Une photo")
        (retry,) = await api.wait_until(
            lambda: api.messages(ADMIN)[before:] or None, what="the retry"
        )
        (link,) = await say(api, ADMIN, "Agissez")
    assert (retry.text, (link.text or "").startswith("Send a link")) == (
        "Please send the other version as text, or skip. /cancel stops.",
        True,
    )


async def test_no_version_step_when_nobody_reads_the_other_language(
    api: FakeBotApi, bilingual_app: Callable[..., Any]
) -> None:
    """An audience of English readers only: after the message comes the link question."""
    async with bilingual_app(FakeClock()) as app:
        await subscribe(app, "stoptorture", (EN, UNSET))
        await say(api, ADMIN, "/broadcast stoptorture")
        (reply,) = await say(api, ADMIN, "Act now")
    assert (reply.text or "").startswith("Send a link for the Take action button")


async def test_french_names_in_mysubs_unsubscribe_and_the_archive_notice(
    api: FakeBotApi, bilingual_app: Callable[..., Any]
) -> None:
    """/mysubs, /latest and /unsubscribe answer a French chat in French, naming topics in
    French; the archive notice reaches it with the French name and the English chat with the
    English one."""
    async with bilingual_app(FakeClock()) as app:
        await subscribe(app, "write-for-rights", (EN, FR))
        await subscribe(app, "stoptorture", (FR,))
        (mysubs,) = await say(api, FR, "/mysubs")
        (latest,) = await say(api, FR, "/latest ecrire pour les droits")
        (stopped,) = await say(api, FR, "/unsubscribe stoptorture")
        before = {c: len(api.messages(c)) for c in (EN, FR)}
        await say(api, ADMIN, "/archivetopic write-for-rights")
        runtime_of(app).wake_delivery()
        notices = {
            c: await api.wait_for_message(c, lambda m, c=c: m in api.messages(c)[before[c] :])
            for c in (EN, FR)
        }
    assert (
        button_texts(mysubs),
        (latest.text or "").splitlines()[0],
        stopped.text,
        "Écrire pour les droits" in (notices[FR].text or ""),
        "Write for Rights" in (notices[EN].text or ""),
    ) == (
        [
            "✖ Me désabonner de Halte à la torture",
            "✖ Me désabonner d’Écrire pour les droits",
        ],
        "Dernières publications dans ✉️ Écrire pour les droits (page 1)",
        "Vous ne suivez plus ✋ Halte à la torture. /topics pour le suivre de nouveau.",
        True,
        True,
    )
