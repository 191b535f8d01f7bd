"""Command menus per audience, installed with setMyCommands.

Owns the supporter command lists: every private chat gets `SUPPORTER_COMMANDS`, every group
`GROUP_COMMANDS` (the same without /start and /forgetme, which concern a person). Organiser
and admin menus, scoped per chat, belong next to them when those audiences arrive.
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

log = logging.getLogger(__name__)

SUPPORTER_COMMANDS: tuple[BotCommand, ...] = (
    BotCommand("start", "Welcome and topic picker"),
    BotCommand("topics", "See the campaign topics and choose what to follow"),
    BotCommand("subscribe", "Follow a topic: /subscribe <topic>"),
    BotCommand("unsubscribe", "Stop following a topic, or /unsubscribe all"),
    BotCommand("mysubs", "The topics you follow"),
    BotCommand("latest", "The latest posts: /latest [topic]"),
    BotCommand("search", "Find posts: /search <words>"),
    BotCommand("settings", "Digest, quiet hours, time zone and language"),
    BotCommand("mydata", "See everything the bot stores about this chat"),
    BotCommand("forgetme", "Delete everything the bot stores about you"),
    BotCommand("whoami", "Your Telegram id and your role with this bot"),
    BotCommand("help", "Everything the bot can do"),
)
_PERSONAL = frozenset({"start", "forgetme", "whoami"})
# In a group the group follows topics, not the person reading the menu.
_IN_GROUPS = {
    "mysubs": "The topics this group follows",
    "mydata": "See everything the bot stores about this group",
}
GROUP_COMMANDS: tuple[BotCommand, ...] = tuple(
    BotCommand(c.command, _IN_GROUPS.get(c.command, c.description))
    for c in SUPPORTER_COMMANDS
    if c.command not in _PERSONAL
)


async def install_menus(bot: Bot) -> None:
    """Set the supporter menu for private chats and the group menu for groups.

    A failure is logged, not raised: menus are a convenience and must not stop the bot.
    """
    try:
        await bot.set_my_commands(SUPPORTER_COMMANDS, scope=BotCommandScopeAllPrivateChats())
        await bot.set_my_commands(GROUP_COMMANDS, scope=BotCommandScopeAllGroupChats())
    except TelegramError as error:
        log.warning("command menus not installed", extra={"error": str(error)})


# -- organiser and admin menus, per private chat ------------------------------------------------
# Scoped with BotCommandScopeChat to the person's private chat (chat id == user id): the
# supporter menu plus their audience's commands. Installed at start for ADMIN_IDS and granted
# users, refreshed by /grant and /revoke.

ORGANISER_COMMANDS: tuple[BotCommand, ...] = (
    BotCommand("broadcast", "Send a call to action: /broadcast <topic…>|all"),
    BotCommand("push", "Send a post again: /push <post URL> <topic>"),
    BotCommand("broadcasts", "Scheduled and recent broadcasts"),
    BotCommand("results", "What messages achieved: /results [broadcast id|post URL]"),
    BotCommand("cancel", "Stop composing a broadcast"),
)
ADMIN_COMMANDS: tuple[BotCommand, ...] = (
    BotCommand("addtopic", "New topic: /addtopic <slug> <Name>"),
    BotCommand(
        "edittopic", "Edit a topic: /edittopic <slug> name|description|emoji|action <value>"
    ),
    BotCommand("topicrule", "Matching rules: /topicrule <slug> add|remove <kind> <text>"),
    BotCommand("archivetopic", "Archive a topic: /archivetopic <slug>"),
    BotCommand("topicinfo", "A topic's rules and figures: /topicinfo <slug>"),
    BotCommand("addfeed", "Add a feed: /addfeed <url> [name]"),
    BotCommand("feeds", "Feeds and their health"),
    BotCommand("pausefeed", "Pause a feed: /pausefeed <id|url>"),
    BotCommand("resumefeed", "Resume a feed: /resumefeed <id|url>"),
    BotCommand("feedlanguage", "A feed's language: /feedlanguage <id|url> en|fr|auto"),
    BotCommand("removefeed", "Remove a feed: /removefeed <id|url>"),
    BotCommand("grant", "Give a role: /grant <id|@username> organiser|admin"),
    BotCommand("revoke", "Take a role back: /revoke <id|@username>"),
    BotCommand("team", "Organisers and admins"),
    BotCommand("stats", "Supporters, subscriptions, posts and deliveries"),
    BotCommand("audit", "Latest admin and organiser actions: /audit [n]"),
)


def commands_for(role: Role) -> tuple[BotCommand, ...]:
    """The private-chat menu of someone holding `role`."""
    if role is Role.ADMIN:
        return SUPPORTER_COMMANDS + ORGANISER_COMMANDS + ADMIN_COMMANDS
    if role is Role.ORGANISER:
        return SUPPORTER_COMMANDS + ORGANISER_COMMANDS
    return SUPPORTER_COMMANDS


async def refresh_menu(bot: Bot, user_id: int, role: Role) -> bool:
    """Set (organiser, admin) or delete (supporter) the menu scoped to a user's private chat.

    A failure (e.g. they never started the bot) is logged, not raised; returns success.
    """
    scope = BotCommandScopeChat(chat_id=user_id)
    try:
        if role is Role.SUPPORTER:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(commands_for(role), scope=scope)
    except TelegramError as error:
        log.info("scoped menu not set", extra={"user_id": user_id, "error": str(error)})
        return False
    return True


async def install_staff_menus(bot: Bot, staff: Iterable[tuple[int, Role]]) -> None:
    """At start: the scoped menu of every organiser and admin (ADMIN_IDS and granted)."""
    for user_id, role in staff:
        await refresh_menu(bot, user_id, role)
