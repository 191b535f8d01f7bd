"""Command menus per audience, installed with setMyCommands (STYLE.md 2.7).

Owns the supporter command lists: every private chat gets `SUPPORTER_COMMANDS`, every group
`GROUP_COMMANDS` (the same without /start and /forgetme, which concern a person). Organiser
and admin menus, scoped per chat, belong next to them when those audiences arrive.
Must not: decide who may run a command (menus are a convenience, not a guard).
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats
from telegram.error import TelegramError

log = logging.getLogger(__name__)

SUPPORTER_COMMANDS: tuple[BotCommand, ...] = (
    BotCommand("start", "Welcome and topic picker"),
    BotCommand("topics", "See the campaign topics and choose what to follow"),
    BotCommand("subscribe", "Follow a topic: /subscribe <topic>"),
    BotCommand("unsubscribe", "Stop following a topic, or /unsubscribe all"),
    BotCommand("mysubs", "The topics you follow"),
    BotCommand("latest", "The latest posts: /latest [topic]"),
    BotCommand("forgetme", "Delete everything the bot stores about you"),
    BotCommand("help", "Everything the bot can do"),
)
_PERSONAL = frozenset({"start", "forgetme"})
GROUP_COMMANDS: tuple[BotCommand, ...] = tuple(
    c for c in SUPPORTER_COMMANDS if c.command not in _PERSONAL
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
