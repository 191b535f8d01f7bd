"""Channels and groups as targets: /channel, /channels and the bot's membership in them.

Owns `/channel <@name|id> <topic…>|off` and `/channels` (admin commands through
`admin_command`, so the role is checked at the moment of use, in private chats only), and
what happens when the bot's membership in a channel changes (`on_channel_member`, called by
`bot.handlers.members.on_my_chat_member`): an admin who made it an administrator (or added it
to a group) is told in private how to link the chat; a linked chat where it may no longer
post becomes inactive and every admin is told once; re-promoted, it is active again.
The bot asks Telegram (getChat, getChatMember) here and hands the facts to `ChannelService`.

Must not: import SQLAlchemy or `bot.db`, say anything to people who are not admins, or log a
chat's title or a person's name.
"""

from __future__ import annotations

import logging

from telegram import Bot, ChatMember, ChatMemberRestricted, LinkPreviewOptions, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.domain.channels import TARGET_TYPES, ChannelCommand, ChannelFacts, may_post
from bot.domain.channels import parse_channel_command as _parse
from bot.domain.types import Actor
from bot.errors import NotFoundError
from bot.handlers.admins import admin_command, nothing
from bot.handlers.context import Context, runtime_of, timezone_of
from bot.render import channels as render
from bot.render.text import RenderedMessage
from bot.runtime import Runtime
from bot.services.channels import LostReport

log = logging.getLogger(__name__)


def bot_may_post(chat_type: str, member: ChatMember) -> bool:
    """Whether the bot, with this membership, may post in the channel or group."""
    if isinstance(member, ChatMemberRestricted):
        return chat_type != ChatType.CHANNEL and member.is_member and member.can_send_messages
    return may_post(chat_type, member.status, getattr(member, "can_post_messages", None))


def lost_reason(chat_type: str, status: str) -> str:
    """Why a linked chat became unreachable, in words kept on the chat row (English)."""
    where = "channel" if chat_type == ChatType.CHANNEL else "group"
    if status in ("kicked", "left"):
        return f"the bot was removed from the {where}"
    return f"the bot may no longer post in the {where}"


def _facts(chat_id: int, chat_type: str, title: str | None, username: str | None) -> ChannelFacts:
    return ChannelFacts(chat_id, chat_type, title or "", username)


# -- /channel and /channels ---------------------------------------------------------------------


@admin_command("channel", _parse)
async def channel_command(context: Context, actor: Actor, args: ChannelCommand) -> RenderedMessage:
    """/channel <@name|id> <topic…>: link a chat the bot may post in; `off` unlinks it."""
    service = runtime_of(context).channels
    language = actor.language
    if args.off:
        try:
            view = await service.unlink(actor, args.ref)
        except NotFoundError:
            return render.channel_not_linked_message(args.ref, language)
        return render.channel_unlinked_message(view, language)
    try:
        chat = await context.bot.get_chat(args.ref)
    except (BadRequest, Forbidden):
        # Unknown, or known to Telegram but the bot is not in it (removed, never added): the
        # answer says to add the bot as an administrator first.
        return render.channel_unknown_message(args.ref, language)
    if chat.type not in TARGET_TYPES:
        return render.channel_wrong_type_message(args.ref, language)
    title, username = chat.title or "", chat.username
    try:
        member = await context.bot.get_chat_member(chat.id, context.bot.id)
    except (BadRequest, Forbidden):
        member = None
    if member is None or not bot_may_post(chat.type, member):
        return render.channel_not_admin_message(title, username, chat.id, chat.type, language)
    result = await service.link(actor, _facts(chat.id, chat.type, title, username), args.topics)
    return render.channel_linked_message(result.channel, created=result.created, language=language)


@admin_command("channels", nothing)
async def channels_command(context: Context, actor: Actor, args: tuple[()]) -> RenderedMessage:
    """/channels: linked channels and groups with their topics and health."""
    channels = await runtime_of(context).channels.list_channels()
    return render.channels_message(channels, timezone_of(context), actor.language)


COMMANDS = {command.name: command.callback for command in (channel_command, channels_command)}


# -- the bot's membership -----------------------------------------------------------------------


async def tell_admins_lost(bot: Bot, report: LostReport, *, restored: bool = False) -> None:
    """Tell every admin, in their language, that the bot lost a linked chat (or got it back).

    `restored`: it may post there again; otherwise it can no longer post there.
    """
    for admin_id, language in report.recipients:
        if restored:
            message = render.channel_restored_message(report.channel, language)
        else:
            message = render.channel_lost_message(report.channel, report.reason, language)
        try:
            await bot.send_message(
                admin_id,
                message.text,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramError as error:
            log.warning(
                "lost channel not reported", extra={"user_id": admin_id, "error": str(error)}
            )
    log.info(
        "lost channel reported",
        extra={"chat_id": report.channel.chat_id, "admins": len(report.recipients)},
    )


async def report_lost(context: Context, chat_id: int, reason: str) -> None:
    """A linked group just became unreachable (the group path of my_chat_member)."""
    report = await runtime_of(context).channels.lost_report(chat_id, reason)
    if report is not None:
        await tell_admins_lost(context.bot, report)


async def tell_adder(update: Update, context: Context) -> None:
    """The bot may now post in a chat: if whoever did it is an admin, tell them how to link it.

    Anyone else gets nothing (the bot says nothing to strangers); it is logged without names.
    """
    change = update.my_chat_member
    if change is None:
        return
    chat, adder = change.chat, change.from_user
    runtime: Runtime = runtime_of(context)
    if adder is None or adder.is_bot or not await runtime.channels.is_admin(adder.id):
        log.info("bot added by someone without the admin role", extra={"chat_type": chat.type})
        return
    language = await runtime.subscriptions.chat_language(adder.id)
    message = render.channel_added_message(
        chat.title or "", chat.username, chat.id, chat.type, language
    )
    try:
        await context.bot.send_message(
            adder.id, message.text, link_preview_options=LinkPreviewOptions(is_disabled=True)
        )
    except TelegramError as error:
        log.info("admin not told about a new chat", extra={"error": str(error)})


async def on_channel_member(update: Update, context: Context) -> None:
    """The bot's membership in a channel changed: follow it if linked, tell admins."""
    change = update.my_chat_member
    if change is None:
        return
    chat, old, new = change.chat, change.old_chat_member, change.new_chat_member
    posting = bot_may_post(chat.type, new)
    could_post = bot_may_post(chat.type, old)
    result = await runtime_of(context).channels.bot_status_changed(
        _facts(chat.id, chat.type, chat.title, chat.username),
        may_post=posting,
        reason=lost_reason(chat.type, new.status),
    )
    log.info(
        "channel membership changed",
        extra={
            "chat_id": chat.id,
            "status": new.status,
            "may_post": posting,
            "linked": result.linked,
        },
    )
    if result.report is not None:
        await tell_admins_lost(context.bot, result.report, restored=result.restored)
    if posting and not could_post and not result.linked:
        await tell_adder(update, context)
