"""Who talks to the bot and whether the bot can still write to them.

Owns two observers: `on_my_chat_member` (the bot was blocked, kicked or removed -> the chat
becomes inactive and its pending deliveries are dropped; added or unblocked -> active again;
channels go to `bot.handlers.channels.on_channel_member`, and a linked group's loss is
reported to the admins there too)
and `on_incoming_update` (a chat that writes or presses a button is registered and
reactivated; its sender is remembered by numeric id and lower-cased @username only).
Must not: import SQLAlchemy or `bot.db`, reply to ordinary messages, or stop other handlers.
"""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberRestricted, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.handlers import channels
from bot.handlers.context import Context, subscriptions_of
from bot.handlers.sharing import defers_registration
from bot.render import supporters as render

log = logging.getLogger(__name__)

_SERVED_CHATS = frozenset({ChatType.PRIVATE, ChatType.GROUP, ChatType.SUPERGROUP})
_GONE = frozenset({ChatMemberStatus.BANNED, ChatMemberStatus.LEFT})
_PRESENT = frozenset(
    {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
)


def can_write(member: ChatMember) -> bool:
    """Whether the bot, with this membership, can send messages to the chat."""
    if member.status in _PRESENT:
        return True
    if isinstance(member, ChatMemberRestricted):
        return member.is_member and member.can_send_messages
    return False


def unreachable_reason(chat_type: str, status: str) -> str:
    """Why a chat became unreachable, in words kept on the chat row."""
    if chat_type == ChatType.PRIVATE:
        return "the user blocked the bot"
    if status == ChatMemberStatus.BANNED:
        return "the bot was removed from the group"
    if status == ChatMemberStatus.LEFT:
        return "the bot left the group"
    return "the bot may not send messages in the group"


async def on_my_chat_member(update: Update, context: Context) -> None:
    """The bot's own membership changed: mark the chat active or inactive."""
    change = update.my_chat_member
    if change is not None and change.chat.type == ChatType.CHANNEL:
        await channels.on_channel_member(update, context)
        return
    if change is None or change.chat.type not in _SERVED_CHATS:
        return
    chat = change.chat
    old, new = change.old_chat_member, change.new_chat_member
    reachable = can_write(new)
    service = subscriptions_of(context)
    reason = "" if reachable else unreachable_reason(chat.type, new.status)
    lost = await service.set_reachable(chat.id, reachable, reason, chat_type=chat.type)
    log.info(
        "chat reachability changed",
        extra={"chat_id": chat.id, "status": new.status, "reachable": reachable},
    )
    if lost and chat.type != ChatType.PRIVATE:
        # A group linked with /channel: every admin is told, once (the change was the loss).
        await channels.report_lost(context, chat.id, reason)
    if reachable and chat.type != ChatType.PRIVATE and old.status in _GONE:
        # Whoever added the bot is the group's first contact: their language is the group's.
        adder = change.from_user
        await service.register_chat(chat.id, chat.type, adder.language_code if adder else None)
        language = await service.chat_language(chat.id)
        try:
            await context.bot.send_message(chat.id, render.group_welcome_message(language).text)
        except TelegramError as error:
            log.info("group welcome not sent", extra={"chat_id": chat.id, "error": str(error)})
        # An admin who added it is told in private how to link the group to topics.
        await channels.tell_adder(update, context)


async def on_incoming_update(update: Update, context: Context) -> None:
    """Register the chat of a message or button press and remember its sender.

    Never raises: a failure here is logged and the update goes on to its handler.
    """
    if update.message is None and update.callback_query is None:
        return
    chat, user = update.effective_chat, update.effective_user
    try:
        service = subscriptions_of(context)
        # A /start through a shared link registers the chat itself (first contact counts).
        if chat is not None and chat.type in _SERVED_CHATS and not defers_registration(update):
            await service.register_chat(
                chat.id, chat.type, user.language_code if user is not None else None
            )
        if user is not None and not user.is_bot:
            await service.remember_user(user.id, user.username)
    except Exception:  # an observer must not stop the update's real handler
        log.exception(
            "could not register the sender",
            extra={"chat_id": chat.id if chat else None, "update_id": update.update_id},
        )
