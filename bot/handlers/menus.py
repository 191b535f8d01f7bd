"""Command menus per audience, installed with setMyCommands.

Owns the supporter command lists: every private chat gets `SUPPORTER_COMMANDS`, every group
`GROUP_COMMANDS` (the same without /start and /forgetme, which concern a person). Organiser
and admin menus are scoped per private chat. Every menu is set once per language: the
default (English, no language_code) and French (`language_code="fr"`, which Telegram shows
to users whose app is in French). The descriptions are catalog messages.
Must not: decide who may run a command (menus are a convenience, not a guard).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError

from bot.domain.types import Role
from bot.render.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, translator

log = logging.getLogger(__name__)

# (command, description) in English, the catalog's message ids.
_SUPPORTER: tuple[tuple[str, str], ...] = (
    ("start", N_("Welcome and topic picker")),
    ("topics", N_("See the campaign topics and choose what to follow")),
    ("subscribe", N_("Follow a topic: /subscribe <topic>")),
    ("unsubscribe", N_("Stop following a topic, or /unsubscribe all")),
    ("mysubs", N_("The topics you follow")),
    ("latest", N_("The latest posts: /latest [topic]")),
    ("search", N_("Find posts: /search <words>")),
    ("settings", N_("Digest, quiet hours, time zone and language")),
    ("language", N_("Choose the bot's language: English or French")),
    ("mydata", N_("See everything the bot stores about this chat")),
    ("forgetme", N_("Delete everything the bot stores about you")),
    ("whoami", N_("Your Telegram id and your role with this bot")),
    ("help", N_("Everything the bot can do")),
)
_PERSONAL = frozenset({"start", "forgetme", "whoami"})
# In a group the group follows topics, not the person reading the menu.
_IN_GROUPS = {
    "mysubs": N_("The topics this group follows"),
    "mydata": N_("See everything the bot stores about this group"),
    "language": N_("Choose the group's language (group admins)"),
}
_ORGANISER: tuple[tuple[str, str], ...] = (
    ("broadcast", N_("Send a call to action: /broadcast <topic…>|all")),
    ("push", N_("Send a post again: /push <post URL> <topic>")),
    ("broadcasts", N_("Scheduled and recent broadcasts")),
    ("results", N_("What messages achieved: /results [broadcast id|post URL]")),
    ("cancel", N_("Stop composing a broadcast")),
)
_ADMIN: tuple[tuple[str, str], ...] = (
    ("addtopic", N_("New topic: /addtopic <slug> <Name>")),
    (
        "edittopic",
        N_(
            "Edit a topic: /edittopic <slug> name|description|emoji|action <value>, "
            "urgent on|off, preview off|small|large"
        ),
    ),
    ("topicrule", N_("Matching rules: /topicrule <slug> add|remove <kind> <text>")),
    ("archivetopic", N_("Archive a topic: /archivetopic <slug>")),
    ("topicinfo", N_("A topic's rules and figures: /topicinfo <slug>")),
    ("addfeed", N_("Add a feed: /addfeed <url> [name]")),
    ("feeds", N_("Feeds and their health")),
    ("pausefeed", N_("Pause a feed: /pausefeed <id|url>")),
    ("resumefeed", N_("Resume a feed: /resumefeed <id|url>")),
    ("feedlanguage", N_("A feed's language: /feedlanguage <id|url> en|fr|auto")),
    ("feedinterval", N_("How often a feed is polled: /feedinterval <id|url> 15m|2h|1d|auto")),
    ("exportfeeds", N_("All feeds as an OPML file (send one back to import feeds)")),
    ("removefeed", N_("Remove a feed: /removefeed <id|url>")),
    ("channel", N_("Post topics in a channel or group: /channel <@name|id> <topic…>|off")),
    ("channels", N_("Linked channels and groups, with their health")),
    ("grant", N_("Give a role: /grant <id|@username> organiser|admin")),
    ("revoke", N_("Take a role back: /revoke <id|@username>")),
    ("team", N_("Organisers and admins")),
    ("stats", N_("Supporters, subscriptions, posts and deliveries")),
    ("audit", N_("Latest admin and organiser actions: /audit [n]")),
)


def _commands(entries: Iterable[tuple[str, str]], language: str) -> tuple[BotCommand, ...]:
    t = translator(language)
    return tuple(BotCommand(command, t.gettext(what)) for command, what in entries)


def supporter_commands(language: str = SOURCE_LANGUAGE) -> tuple[BotCommand, ...]:
    """The private-chat menu of every supporter, in `language`."""
    return _commands(_SUPPORTER, language)


def group_commands(language: str = SOURCE_LANGUAGE) -> tuple[BotCommand, ...]:
    """The menu of every group, in `language`."""
    entries = [(c, _IN_GROUPS.get(c, what)) for c, what in _SUPPORTER if c not in _PERSONAL]
    return _commands(entries, language)


# The English menus (the default every client without a French menu shows).
SUPPORTER_COMMANDS = supporter_commands()
GROUP_COMMANDS = group_commands()
ORGANISER_COMMANDS = _commands(_ORGANISER, SOURCE_LANGUAGE)
ADMIN_COMMANDS = _commands(_ADMIN, SOURCE_LANGUAGE)


def _menu_language_code(language: str) -> str | None:
    """SetMyCommands' language_code: none for the default (source) language."""
    return None if language == SOURCE_LANGUAGE else language


async def install_menus(bot: Bot) -> None:
    """Set the supporter menu for private chats and the group menu for groups, per language.

    A failure is logged, not raised: menus are a convenience and must not stop the bot.
    """
    try:
        for language in LANGUAGES:
            code = _menu_language_code(language)
            await bot.set_my_commands(
                supporter_commands(language),
                scope=BotCommandScopeAllPrivateChats(),
                language_code=code,
            )
            await bot.set_my_commands(
                group_commands(language), scope=BotCommandScopeAllGroupChats(), language_code=code
            )
    except TelegramError as error:
        log.warning("command menus not installed", extra={"error": str(error)})


# -- organiser and admin menus, per private chat ------------------------------------------------
# Scoped with BotCommandScopeChat to the person's private chat (chat id == user id): the
# supporter menu plus their audience's commands. Installed at start for ADMIN_IDS and granted
# users, refreshed by /grant and /revoke.


def staff_entries(role: Role) -> tuple[tuple[str, str], ...]:
    """The organiser and admin commands `role` may use: (command, description message id).

    As its command menu lists them; /help lists them too.
    """
    if role is Role.ADMIN:
        return _ORGANISER + _ADMIN
    if role is Role.ORGANISER:
        return _ORGANISER
    return ()


def commands_for(role: Role, language: str = SOURCE_LANGUAGE) -> tuple[BotCommand, ...]:
    """The private-chat menu of someone holding `role`, in `language`."""
    supporter = supporter_commands(language)
    if role is Role.ADMIN:
        return supporter + _commands(_ORGANISER, language) + _commands(_ADMIN, language)
    if role is Role.ORGANISER:
        return supporter + _commands(_ORGANISER, language)
    return supporter


async def refresh_menu(bot: Bot, user_id: int, role: Role) -> bool:
    """Set (organiser, admin) or delete (supporter) the menu scoped to a user's private chat.

    Set or deleted for every language. A failure (e.g. they never started the bot) is
    logged, not raised; returns success.
    """
    scope = BotCommandScopeChat(chat_id=user_id)
    try:
        for language in LANGUAGES:
            code = _menu_language_code(language)
            if role is Role.SUPPORTER:
                await bot.delete_my_commands(scope=scope, language_code=code)
            else:
                await bot.set_my_commands(
                    commands_for(role, language), scope=scope, language_code=code
                )
    except TelegramError as error:
        log.info("scoped menu not set", extra={"user_id": user_id, "error": str(error)})
        return False
    return True


async def install_staff_menus(bot: Bot, staff: Iterable[tuple[int, Role]]) -> None:
    """At start: the scoped menu of every organiser and admin (ADMIN_IDS and granted)."""
    for user_id, role in staff:
        await refresh_menu(bot, user_id, role)
