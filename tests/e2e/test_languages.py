"""Languages end to end (issue #10): French and English supporters, /language, menus.

A French user (Telegram language_code "fr-CA") reads the bot in French from the first
message; a user whose app is in English, or says nothing, reads today's English texts. The
chat's language is stored at first contact and changed with /language (in a group, by its
admins only); posts and broadcasts go out in each chat's language; menus are set per language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.app import AnyApplication
from bot.db.models import Chat
from bot.db.repos import DeliveryRepo, PostRepo
from bot.domain.types import ParsedEntry
from bot.handlers.menus import GROUP_COMMANDS, SUPPORTER_COMMANDS
from tests.e2e.conftest import runtime_of
from tests.e2e.test_broadcasts import (
    ACTION,
    ADMIN,
    choose_action,
    grant_organiser,
    organiser_app,
    send_now,
)
from tests.e2e.test_supporters import (
    button_data,
    button_texts,
    followed,
    press,
    press_and_wait_edit,
    say,
    topic_id,
)
from tests.fakes.botapi import BotMessage, FakeBotApi

__all__ = ["organiser_app"]  # the fixture, used by the broadcast test below

AMELIE = 2501  # Telegram in Canadian French
JOHN = 2502  # Telegram in English
NOLANG = 2503  # no language_code at all
ORGANISER = 2600
GROUP = -1009876543210
NNBSP = "\u202f"
NBSP = "\u00a0"


async def stored_language(app: AnyApplication, chat_id: int) -> str | None:
    """chats.language as stored."""
    async with runtime_of(app).sessionmaker() as session:
        chat = await session.get(Chat, chat_id)
        return chat.language if chat is not None else None


async def deliver_post(app: AnyApplication, api: FakeBotApi, chats: list[int]) -> list[BotMessage]:
    """One StopTorture post, dated, fanned out to its followers; the message each chat gets."""
    runtime = runtime_of(app)
    now = runtime.clock.now()
    tid = await topic_id(app, "stoptorture")
    entry = ParsedEntry(
        identity="p1",
        url="https://news.example.org/p1",
        title="A post",
        summary="About it.",
        published=datetime(2026, 3, 5, 12, 0, tzinfo=UTC),
    )
    async with runtime.sessionmaker.begin() as session:
        inserted = await PostRepo(session).insert_new(None, [entry], now, announced=True)  # type: ignore[arg-type]
        await PostRepo(session).add_topics([(inserted["p1"], tid)])
        await DeliveryRepo(session).fan_out_post(inserted["p1"], [tid], now)
    assert runtime.delivery is not None
    runtime.delivery.wake()
    return [
        await api.wait_for_message(chat, lambda m: "A post" in (m.text or "")) for chat in chats
    ]


# -- a French supporter and an English one ------------------------------------------------------


async def test_french_user_reads_start_help_topics_subscribe_and_posts_in_french(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """fr-CA: /start, /help, /topics, /subscribe and a post notification are in French, the
    topic named by its French name."""
    welcome, picker = await say(api, AMELIE, "/start", replies=2, language_code="fr-CA")
    (help_,) = await say(api, AMELIE, "/help", language_code="fr-CA")
    (topics,) = await say(api, AMELIE, "/topics", language_code="fr-CA")
    (subscribed,) = await say(api, AMELIE, "/subscribe stoptorture", language_code="fr-CA")
    (post,) = await deliver_post(bot_app, api, [AMELIE])
    assert (
        welcome.text.splitlines()[0],
        picker.text.splitlines()[0],
        help_.text.splitlines()[0],
        "/language [fr|en] — choisir la langue dans laquelle je vous écris" in help_.text,
        topics.text.splitlines()[0],
        subscribed.text,
        post.text.splitlines()[-1],
        button_texts(post),
        await stored_language(bot_app, AMELIE),
    ) == (
        f"👋 Bienvenue dans Campaign Action Bot{NNBSP}!",
        f"Touchez un sujet pour le suivre{NNBSP}; touchez-le de nouveau pour arrêter.",
        "Ce que je sais faire",
        True,
        f"Touchez un sujet pour le suivre{NNBSP}; touchez-le de nouveau pour arrêter.",
        f"✅ Vous suivez désormais ✋ Halte à la torture{NBSP}: "
        "les nouvelles publications arriveront ici.",
        "5 mars 2026",
        ["Lire et agir", "Me désabonner de Halte à la torture"],
        "fr",
    )


async def test_english_and_unknown_languages_read_todays_english(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """language_code "en" and none at all: English, exactly as before; one post, two renderings."""
    (english,) = await say(api, JOHN, "/subscribe stoptorture", language_code="en")
    (silent,) = await say(api, NOLANG, "/subscribe stoptorture", language_code=None)
    await say(api, AMELIE, "/subscribe stoptorture", language_code="fr")
    john, nolang, amelie = await deliver_post(bot_app, api, [JOHN, NOLANG, AMELIE])
    assert (
        english.text,
        silent.text,
        john.text.splitlines()[-1],
        button_texts(john),
        button_texts(nolang),
        button_texts(amelie),
        await stored_language(bot_app, JOHN),
        await stored_language(bot_app, NOLANG),
    ) == (
        "✅ You now follow ✋ StopTorture: new posts will arrive here.",
        "✅ You now follow ✋ StopTorture: new posts will arrive here.",
        "5 Mar 2026",
        ["Read and act", "Unsubscribe from StopTorture"],
        ["Read and act", "Unsubscribe from StopTorture"],
        ["Lire et agir", "Me désabonner de Halte à la torture"],
        "en",
        None,  # never said: DEFAULT_LANGUAGE applies, and a later message may still set it
    )


async def test_french_toasts_and_unsubscribe_button(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """Callback answers are French too: the picker toggle and "Me désabonner de …"."""
    _, picker = await say(api, AMELIE, "/start", replies=2, language_code="fr")
    answer, _ = await press_and_wait_edit(
        api, AMELIE, picker, button_data(picker, "Halte à la torture")
    )
    (post,) = await deliver_post(bot_app, api, [AMELIE])
    off, _ = await press(api, AMELIE, post, button_data(post, "Me désabonner"))
    assert (answer.get("text"), off.get("text"), await followed(bot_app, AMELIE)) == (
        "✅ Vous suivez désormais Halte à la torture.",
        "Vous ne suivez plus Halte à la torture. Utilisez /topics pour le suivre de nouveau.",
        [],
    )


# -- /language ------------------------------------------------------------------------------------


async def test_language_buttons_switch_and_persist(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """/language shows both languages; Français switches the chat, and it stays French even
    though the user's app says English."""
    (prompt,) = await say(api, JOHN, "/language")
    answer, edited = await press_and_wait_edit(api, JOHN, prompt, button_data(prompt, "Français"))
    (help_,) = await say(api, JOHN, "/help", language_code="en")
    assert (
        prompt.text,
        button_texts(prompt),
        answer.get("text"),
        edited.text,
        button_texts(edited),
        help_.text.splitlines()[0],
        await stored_language(bot_app, JOHN),
    ) == (
        "I write to you in English. Choose another language:",
        ["✅ English", "Français"],
        "Langue changée.",
        f"Je vous écris en français. Choisissez une autre langue{NBSP}:",
        ["English", "✅ Français"],
        "Ce que je sais faire",
        "fr",
    )


async def test_language_command_sets_directly_and_refuses_unknown(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """/language fr and /language en set it; /language de answers clearly and changes nothing."""
    (to_french,) = await say(api, JOHN, "/language fr")
    (unknown,) = await say(api, JOHN, "/language de")
    after_unknown = await stored_language(bot_app, JOHN)
    (to_english,) = await say(api, JOHN, "/language EN")
    assert (to_french.text, unknown.text, after_unknown, to_english.text) == (
        "C’est fait : je vous écris désormais en français.".replace(" :", f"{NBSP}:"),
        f"Je ne parle pas «{NBSP}de{NBSP}». Envoyez /language fr pour le français ou "
        "/language en pour l’anglais.",
        "fr",
        "Done: I now write to you in English.",
    )
    assert await stored_language(bot_app, JOHN) == "en"


async def test_only_group_admins_change_the_groups_language(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """In a group a member is refused (asked with getChatMember); an admin switches it."""
    api.set_member_status(GROUP, AMELIE, "member")
    api.set_member_status(GROUP, JOHN, "administrator")
    (refused,) = await say(api, AMELIE, "/language fr", chat_id=GROUP, language_code="en")
    before = await stored_language(bot_app, GROUP)
    (prompt,) = await say(api, AMELIE, "/language", chat_id=GROUP, language_code="en")
    answer, _ = await press(api, AMELIE, prompt, button_data(prompt, "Français"))
    after_press = await stored_language(bot_app, GROUP)
    (done,) = await say(api, JOHN, "/language fr", chat_id=GROUP)
    assert (
        refused.text,
        before,
        answer.get("text"),
        after_press,
        done.text,
        await stored_language(bot_app, GROUP),
    ) == (
        "Only group admins can change this group's language.",
        "en",
        "Only group admins can change this group's language.",
        "en",
        f"C’est fait{NBSP}: ce groupe me lit désormais en français.",
        "fr",
    )


# -- menus ----------------------------------------------------------------------------------------


async def test_menus_are_set_in_english_and_french(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """Private and group menus: English by default, French for language_code "fr"."""
    private, group = {"type": "all_private_chats"}, {"type": "all_group_chats"}
    english = api.commands(private)
    french = api.commands(private, "fr")
    french_group = api.commands(group, "fr")
    assert (
        english == [c.to_dict() for c in SUPPORTER_COMMANDS],
        api.commands(group) == [c.to_dict() for c in GROUP_COMMANDS],
        [c["command"] for c in french] == [c["command"] for c in english],
        [c["command"] for c in french_group] == [c.command for c in GROUP_COMMANDS],
        next(c["description"] for c in french if c["command"] == "language"),
        next(c["description"] for c in french_group if c["command"] == "mysubs"),
    ) == (
        True,
        True,
        True,
        True,
        f"Choisir la langue du robot{NBSP}: anglais ou français",
        "Les sujets que ce groupe suit",
    )


# -- broadcasts -----------------------------------------------------------------------------------


async def test_broadcast_buttons_in_each_chats_language(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """One broadcast: the French chat gets « Agir », « ✅ Je l’ai fait » (the default action
    label) and « Me désabonner de … », English the English buttons; the text is the
    organiser's own (written in English, the French version skipped)."""
    async with organiser_app() as app:
        await say(api, AMELIE, "/subscribe stoptorture", language_code="fr-CA")
        await say(api, JOHN, "/subscribe stoptorture", language_code="en")
        await grant_organiser(app, ORGANISER)
        await say(api, ORGANISER, "/broadcast stoptorture")
        (version,) = await say(api, ORGANISER, "Act now")
        await say(api, ORGANISER, "skip")
        (prompt,) = await say(api, ORGANISER, ACTION)
        _, summary = await choose_action(api, ORGANISER, prompt, "✅ I did it")
        await send_now(api, ORGANISER, summary)
        amelie = await api.wait_for_message(AMELIE, lambda m: m.text == "Act now")
        john = await api.wait_for_message(JOHN, lambda m: m.text == "Act now")
        assert (
            "Now the French version" in (version.text or ""),
            button_texts(amelie),
            button_texts(john),
        ) == (
            True,
            ["Agir", "✅ Je l’ai fait", "Me désabonner de Halte à la torture"],
            ["Take action", "✅ I did it", "Unsubscribe from StopTorture"],
        )


# -- /whoami and the archive notice ------------------------------------------------------------


async def test_whoami_in_french(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """/whoami, a supporter command, answers in French to a French chat."""
    (reply,) = await say(api, AMELIE, "/whoami", language_code="fr")
    assert reply.text == (
        f"Votre identifiant Telegram est {AMELIE}.\n"
        f"Votre rôle{NBSP}: sympathisant. Un admin peut vous donner un rôle avec /grant et "
        "cet identifiant."
    )


async def test_archive_notice_in_each_chats_language(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """An archived topic's followers are told in their own language, the topic named in it."""
    async with organiser_app():
        await say(api, AMELIE, "/subscribe stoptorture", language_code="fr-CA")
        await say(api, JOHN, "/subscribe stoptorture", language_code="en")
        await say(api, ADMIN, "/archivetopic stoptorture")
        amelie = await api.wait_for_message(AMELIE, lambda m: "archivé" in (m.text or ""))
        john = await api.wait_for_message(JOHN, lambda m: "archived" in (m.text or ""))
        assert (amelie.text, john.text) == (
            f"Le sujet ✋ Halte à la torture a été archivé{NBSP}: vous ne recevrez plus de "
            "publications à son sujet. Envoyez /topics pour choisir d’autres sujets.",
            "The topic ✋ StopTorture has been archived: you will get no more posts about it. "
            "Send /topics to choose other topics.",
        )


async def test_french_organiser_composes_in_french(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """An organiser whose chat is French gets the broadcast conversation in French (the
    topic by its French name, the English version offered in French)."""
    async with organiser_app() as app:
        await say(api, JOHN, "/subscribe stoptorture")
        await grant_organiser(app, ORGANISER)
        (prompt,) = await say(api, ORGANISER, "/broadcast stoptorture", language_code="fr-CA")
        (version,) = await say(api, ORGANISER, "Agissez maintenant", language_code="fr-CA")
        (link,) = await say(api, ORGANISER, "skip", language_code="fr-CA")
        (refused,) = await say(api, ORGANISER, "pas-un-lien", language_code="fr-CA")
        (cancelled,) = await say(api, ORGANISER, "/cancel", language_code="fr-CA")
        assert (
            prompt.text.splitlines()[0],
            version.text,
            link.text,
            refused.text,
            cancelled.text,
        ) == (
            "Diffusion à ✋ Halte à la torture (1 conversation en ce moment).",
            "Maintenant la version anglaise du même message, pour les conversations en "
            f"anglais{NBSP}: envoyez-la en texte, ou skip et elles recevront la version "
            "française. /cancel arrête.",
            "Envoyez un lien pour le bouton Agir (http:// ou https://), ou skip pour ne pas en "
            "mettre. /cancel arrête.",
            f"Je ne peux pas utiliser ce lien{NBSP}: envoyez une adresse http:// ou https://, "
            "ou skip.",
            "Annulé. Rien n’a été envoyé.",
        )


async def test_staff_command_refused_in_french(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """A French supporter trying an organiser command is refused in French."""
    (reply,) = await say(api, AMELIE, "/broadcast all", language_code="fr")
    assert reply.text == "Désolé, seuls les organisateurs et les admins peuvent faire cela."


async def test_french_admin_reads_admin_replies_in_french(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """An admin whose chat is French: usage lines and topic details in French."""
    async with organiser_app():
        (usage,) = await say(api, ADMIN, "/addtopic", language_code="fr")
        (info,) = await say(api, ADMIN, "/topicinfo stoptorture", language_code="fr")
        (refused,) = await say(
            api, ADMIN, "/topicrule stoptorture frob keyword x", language_code="fr"
        )
        assert (
            usage.text,
            f"Abonnés{NBSP}: 0 (0 actifs)" in info.text,
            refused.text,
        ) == (
            f"Utilisation{NBSP}: /addtopic <identifiant> <Nom>\nRien n’a changé.",
            True,
            f"Désolé{NBSP}: l’opération doit être add ou remove.\nRien n’a changé.",
        )
