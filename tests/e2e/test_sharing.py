"""Sharing and finding end to end: /search, inline mode, Share buttons and shared links.

The fake Bot API runs with inline mode on (as after @BotFather /setinline) unless a test
turns it off; the bot answers inline queries through answerInlineQuery, counts chosen
results as shares, and credits a join when a shared link brings a new chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import AnyApplication
from bot.db.repos import ChatRepo, DeliveryRepo, PostRepo, TotalsRepo
from bot.domain.referral import read_code
from bot.domain.types import ParsedEntry
from tests.e2e.conftest import runtime_of
from tests.e2e.test_supporters import (
    ALICE,
    BOB,
    CAROL,
    button_data,
    button_texts,
    followed,
    handled,
    press_and_wait_edit,
    say,
    topic_id,
)
from tests.fakes.botapi import DEFAULT_BOT_USERNAME, BotMessage, FakeBotApi, RateLimits

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def api(request: pytest.FixtureRequest) -> AsyncIterator[FakeBotApi]:
    """The fake Bot API with inline mode on (parametrize indirectly with False for off)."""
    inline = getattr(request, "param", True)
    limits = RateLimits(per_chat_burst=30)
    async with FakeBotApi(limits=limits, inline_mode=inline) as server:
        yield server


async def store_posts(
    app: AnyApplication, posts: list[tuple[str, str]], slug: str = "stoptorture"
) -> list[int]:
    """Store posts (title, summary) of a topic, oldest first, one day apart; their ids."""
    runtime = runtime_of(app)
    tid = await topic_id(app, slug)
    entries = [
        ParsedEntry(
            identity=f"e{n}",
            url=f"https://news.example.org/{n}",
            title=title,
            summary=summary,
            published=START + timedelta(days=n),
        )
        for n, (title, summary) in enumerate(posts)
    ]
    async with runtime.sessionmaker.begin() as session:
        inserted = await PostRepo(session).insert_new(
            None,  # type: ignore[arg-type]
            entries,
            runtime.clock.now(),
            announced=True,
        )
        ids = [inserted[e.identity] for e in entries]
        await PostRepo(session).add_topics((i, tid) for i in ids)
    return ids


async def ask_inline(
    api: FakeBotApi, user_id: int, query: str, offset: str = ""
) -> dict[str, Any]:
    """Type `@bot <query>` and return the bot's answer."""
    query_id = api.inline_query(user_id, query, offset=offset)
    answer = await api.wait_for_inline_answer(query_id)
    answer["query_id"] = query_id
    return answer


def result_titles(answer: dict[str, Any]) -> list[str]:
    """The titles of an inline answer's results, in order."""
    return [r["title"] for r in answer["results"]]


def listed_titles(message: BotMessage) -> list[str]:
    """The post titles of a /search or /latest page, in order."""
    return [line[2:] for line in (message.text or "").splitlines() if line.startswith("• ")]


def url_buttons(result: dict[str, Any]) -> dict[str, str]:
    """Button text -> URL of an inline result's keyboard."""
    rows = result.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["url"] for row in rows for b in row if "url" in b}


async def totals(app: AnyApplication, kind: str, message_id: int) -> dict[int, dict[str, int]]:
    """A message's non-zero counters per topic id."""
    runtime = runtime_of(app)
    async with runtime.sessionmaker() as session:
        rows = await TotalsRepo(session).for_message(kind, message_id)
    return {t: {k: v for k, v in c.items() if v} for t, c in rows.items()}


async def deliver(app: AnyApplication, api: FakeBotApi, chat_id: int, post_id: int) -> BotMessage:
    """Queue a stored StopTorture post for the chat as ingest does; the message it becomes."""
    runtime = runtime_of(app)
    tid = await topic_id(app, "stoptorture")
    async with runtime.sessionmaker.begin() as session:
        await DeliveryRepo(session).fan_out_post(post_id, [tid], runtime.clock.now())
    assert runtime.delivery is not None
    runtime.delivery.wake()
    return await api.wait_for_message(chat_id, lambda m: bool(m.buttons))


SEARCHABLE = [
    ("Écrire pour les droits", "Lettre 1"),
    ("STOP TORTURE now", "Sign."),
    ("ecrire à Ana", "Lettre 2"),
    ("Écrire <b>vite</b> & bien", "Lettre 3"),
    ("Ecrire encore", "Lettre 4"),
    ("Unrelated", "Nothing to see."),
    ("ÉCRIRE 6", "Lettre 6"),
    ("écrire 7", "Lettre 7"),
]
ECRIRE_NEWEST_FIRST = [
    "écrire 7",
    "ÉCRIRE 6",
    "Ecrire encore",
    "Écrire <b>vite</b> & bien",
    "ecrire à Ana",
    "Écrire pour les droits",
]


# -- /search ------------------------------------------------------------------------------------


async def test_search_pages_like_latest(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """/search ecrire lists accent- and case-insensitive matches newest first, five a page,
    with ▶ and ◀ editing the same message; feed text is shown escaped, as text."""
    await store_posts(bot_app, SEARCHABLE)
    (first,) = await say(api, ALICE, "/search Écrire")
    _, older = await press_and_wait_edit(api, ALICE, first, button_data(first, "Older"))
    _, newer = await press_and_wait_edit(api, ALICE, older, button_data(older, "Newer"))
    assert (
        listed_titles(first),
        button_texts(first),
        listed_titles(older),
        button_texts(older),
        newer.text == first.text,
        len(api.messages(ALICE)),
    ) == (
        ECRIRE_NEWEST_FIRST[:5],
        ["Older ▶"],
        ECRIRE_NEWEST_FIRST[5:],
        ["◀ Newer"],
        True,
        1,
    )


async def test_search_needs_every_word(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """Every word must match, the last also as a prefix; no match says so."""
    await store_posts(bot_app, SEARCHABLE)
    (both,) = await say(api, ALICE, "/search ECRIRE lett")
    (none,) = await say(api, ALICE, "/search torture lettre")
    assert (listed_titles(both), listed_titles(none), "No posts match" in (none.text or "")) == (
        ECRIRE_NEWEST_FIRST[:5],
        [],
        True,
    )


@pytest.mark.parametrize("words", ["", "  !!  ", "one two three four five six seven eight nine"])
async def test_search_without_usable_words_gets_the_usage(
    api: FakeBotApi, bot_app: AnyApplication, words: str
) -> None:
    """No words, only punctuation, or too many words: the usage, and no search."""
    (reply,) = await say(api, ALICE, f"/search {words}".strip())
    assert ((reply.text or "")[:25], reply.buttons) == ("Search the posts by words", [])


async def test_search_and_inline_give_the_same_posts(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """The same words find the same posts in /search and in inline mode."""
    await store_posts(bot_app, SEARCHABLE)
    (page,) = await say(api, ALICE, "/search ecrire lettre")
    answer = await ask_inline(api, ALICE, "ecrire lettre")
    assert listed_titles(page) == result_titles(answer)[:5] == ECRIRE_NEWEST_FIRST[:5]


# -- inline mode --------------------------------------------------------------------------------


async def test_inline_query_answers_matching_posts_with_a_follow_link(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """`@bot torture` lists the post as a notification shows it, with Read and act and a
    Follow deep link carrying a genuine referral code; cached briefly, for everyone."""
    (post_id,) = await store_posts(bot_app, [("STOP TORTURE now", "Sign <the> petition.")])
    answer = await ask_inline(api, ALICE, "torture")
    (result,) = answer["results"]
    links = url_buttons(result)
    follow = links["Follow StopTorture"]
    prefix = f"https://t.me/{DEFAULT_BOT_USERNAME}?start=sub-stoptorture-"
    code = follow.removeprefix(prefix)
    key = await runtime_of(bot_app).sharing.load_key()
    referral = read_code(key, code)
    content = result["input_message_content"]
    assert (
        answer["cache_time"],
        answer["is_personal"],
        result["title"],
        follow.startswith(prefix),
        (referral.kind, referral.message_id) if referral else None,
        links["Read and act"],
        content["text"].splitlines()[1:4],
    ) == (
        30,
        True,
        "STOP TORTURE now",
        True,
        ("post", post_id),
        "https://news.example.org/0",
        ["STOP TORTURE now", "", "Sign <the> petition."],
    )


async def test_empty_inline_query_lists_the_latest_posts(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """`@bot` with no words: the newest posts, newest first."""
    await store_posts(bot_app, [(f"Post {n}", "") for n in range(3)])
    answer = await ask_inline(api, BOB, "")
    assert (result_titles(answer), answer["next_offset"]) == (["Post 2", "Post 1", "Post 0"], "")


async def test_inline_results_page_with_next_offset(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """Twenty results an answer; next_offset asks for the rest."""
    await store_posts(bot_app, [(f"Campaign {n}", "") for n in range(23)])
    first = await ask_inline(api, BOB, "campaign")
    second = await ask_inline(api, BOB, "campaign", offset=first["next_offset"])
    assert (len(first["results"]), first["next_offset"], result_titles(second)) == (
        20,
        "1",
        ["Campaign 2", "Campaign 1", "Campaign 0"],
    )


async def test_chosen_inline_result_counts_one_share(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A result sent to a chat adds one share to its post (for its topic), nothing else."""
    (post_id,) = await store_posts(bot_app, [("STOP TORTURE now", "")])
    answer = await ask_inline(api, ALICE, "torture")
    result_id = answer["results"][0]["id"]
    api.choose_inline_result(ALICE, answer["query_id"], result_id)
    await handled(api, bot_app)
    tid = await topic_id(bot_app, "stoptorture")
    assert await totals(bot_app, "post", post_id) == {tid: {"shares": 1}}


async def test_share_button_opens_inline_mode_on_exactly_that_post(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A notification's Share button opens the chat picker with a query that the bot answers
    with exactly that post."""
    await say(api, ALICE, "/subscribe stoptorture")
    ids = await store_posts(bot_app, [("STOP TORTURE now", ""), ("Torture again", "")])
    message = await deliver(bot_app, api, ALICE, ids[0])
    (share,) = [b for row in message.buttons for b in row if b["text"] == "Share"]
    chosen = share["switch_inline_query_chosen_chat"]
    answer = await ask_inline(api, BOB, chosen["query"])
    assert (
        {k: v for k, v in chosen.items() if k != "query"},
        chosen["query"].endswith(" stoptorture"),
        result_titles(answer),
    ) == (
        {"allow_user_chats": True, "allow_group_chats": True, "allow_channel_chats": True},
        True,
        ["STOP TORTURE now"],
    )


@pytest.mark.parametrize("api", [False], indirect=True)
async def test_without_inline_mode_there_is_no_share_button(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """With inline mode off the bot works as before: notifications carry no Share button."""
    await say(api, ALICE, "/subscribe stoptorture")
    (post_id,) = await store_posts(bot_app, [("STOP TORTURE now", "")])
    message = await deliver(bot_app, api, ALICE, post_id)
    assert button_texts(message) == ["Read and act", "Unsubscribe from StopTorture"]


# -- shared links -------------------------------------------------------------------------------


async def follow_link_of(api: FakeBotApi, app: AnyApplication, title: str) -> str:
    """The start parameter of the Follow button of the inline result for `title`."""
    answer = await ask_inline(api, ALICE, title)
    follow = url_buttons(answer["results"][0])["Follow StopTorture"]
    return follow.partition("?start=")[2]


async def test_shared_link_from_a_new_chat_subscribes_and_counts_a_join(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A new chat opening a shared link follows the topic and the post gets one join."""
    (post_id,) = await store_posts(bot_app, [("STOP TORTURE now", "")])
    parameter = await follow_link_of(api, bot_app, "torture")
    welcome, _ = await say(api, CAROL, f"/start {parameter}", replies=2)
    tid = await topic_id(bot_app, "stoptorture")
    assert (
        await followed(bot_app, CAROL),
        "now follow" in (welcome.text or ""),
        await totals(bot_app, "post", post_id),
    ) == (["stoptorture"], True, {tid: {"joins": 1}})


async def test_shared_link_from_a_known_chat_subscribes_without_a_join(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A chat that talked to the bot before follows the topic; no join is credited."""
    (post_id,) = await store_posts(bot_app, [("STOP TORTURE now", "")])
    parameter = await follow_link_of(api, bot_app, "torture")
    await say(api, CAROL, "/help")
    await say(api, CAROL, f"/start {parameter}", replies=2)
    await say(api, CAROL, f"/start {parameter}", replies=2)
    assert (await followed(bot_app, CAROL), await totals(bot_app, "post", post_id)) == (
        ["stoptorture"],
        {},
    )


@pytest.mark.parametrize(
    "forge",
    [
        lambda code: code[:-1] + ("a" if code[-1] != "a" else "b"),  # another MAC
        lambda code: "p" + "9" + code[code.index("_") :],  # another id, the MAC kept
        lambda code: "b" + code[1:],  # another kind
    ],
    ids=["mac", "id", "kind"],
)
async def test_forged_code_subscribes_and_credits_nothing(
    api: FakeBotApi, bot_app: AnyApplication, forge: Any
) -> None:
    """A made-up or altered code still subscribes, and no message is credited."""
    (post_id,) = await store_posts(bot_app, [("STOP TORTURE now", "")])
    parameter = await follow_link_of(api, bot_app, "torture")
    slug_part, _, code = parameter.rpartition("-")
    await say(api, CAROL, f"/start {slug_part}-{forge(code)}", replies=2)
    await handled(api, bot_app)
    assert (
        await followed(bot_app, CAROL),
        await totals(bot_app, "post", post_id),
        await totals(bot_app, "post", 9),
        await totals(bot_app, "broadcast", post_id),
    ) == (["stoptorture"], {}, {}, {})


async def test_chosen_result_with_a_forged_id_counts_nothing(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A chosen-result update whose id is not a genuine code adds no share."""
    (post_id,) = await store_posts(bot_app, [("STOP TORTURE now", "")])
    answer = await ask_inline(api, ALICE, "torture")
    genuine = answer["results"][0]["id"]
    forged = genuine.replace("_", "_x", 1)[: len(genuine)]
    api.inject_update(
        {
            "chosen_inline_result": {
                "result_id": forged,
                "from": {"id": ALICE, "is_bot": False, "first_name": "A"},
                "query": "torture",
            }
        }
    )
    await handled(api, bot_app)
    assert await totals(bot_app, "post", post_id) == {}


async def test_shared_link_to_an_unknown_topic_registers_the_chat_and_credits_nothing(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A shared link whose topic is gone says so, still registers the chat, credits nothing."""
    (post_id,) = await store_posts(bot_app, [("STOP TORTURE now", "")])
    parameter = await follow_link_of(api, bot_app, "torture")
    code = parameter.rpartition("-")[2]
    welcome, _ = await say(api, CAROL, f"/start sub-gone-topic-{code}", replies=2)
    async with runtime_of(bot_app).sessionmaker() as session:
        chat = await ChatRepo(session).get(CAROL)
    assert (
        "gone-topic" in (welcome.text or ""),
        chat is not None,
        await totals(bot_app, "post", post_id),
    ) == (True, True, {})
