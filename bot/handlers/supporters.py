"""Supporter commands and buttons: translate updates into `SubscriptionService` calls and replies.

Owns /start (with the `sub-<slug>` deep link), /help, /topics, /subscribe, /unsubscribe,
/mysubs, /latest, /mydata, /forgetme, their inline buttons, and the hints for free text and unknown
commands. Each callback extracts primitives from the update, calls the service, renders with
`bot.render.supporters` and replies. Every button press is answered, and a
press whose data is not one of ours, or not on the pressed message any more, only gets
"This button is no longer valid".

In groups, everyone may read (/help, /topics, /mysubs, /latest, /mydata: the group's record,
never a member's); only group admins may change
the group's subscriptions, checked with getChatMember on every change (nothing cached). Replies
in a group speak of the group ("This group now follows …"), never of "you".

Must not: import SQLAlchemy or `bot.db`, keep state between updates, or let a domain error
reach the user as a traceback. Domain errors are mapped here, in this order:
`TopicNotFoundError` from a command -> "No topic called X. Did you mean …";
`TopicNotFoundError` from a button -> "This button is no longer valid";
anything else goes to `bot.handlers.errors.error_handler`.
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import Chat, Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.errors import TopicNotFoundError
from bot.handlers.context import Context, runtime_of, subscriptions_of, timezone_of
from bot.handlers.context import chat_of as _chat
from bot.handlers.context import message_of as _message
from bot.handlers.context import query_of as _query
from bot.handlers.guards import button_on_message
from bot.handlers.replies import answer as _answer
from bot.handlers.replies import edit as _edit
from bot.handlers.replies import reply as _reply
from bot.handlers.sharing import sharing_of, start_referral
from bot.render import callback_data as cb
from bot.render import privacy as render_privacy
from bot.render import supporters as render
from bot.render.text import INVALID_BUTTON, RenderedMessage, topic_not_found_message
from bot.services.subscriptions import SubscriptionService

DEEP_LINK_SUBSCRIBE = "sub-"
UNSUBSCRIBE_ALL = "all"
_GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})
_ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})


# -- helpers (pure or thin) --------------------------------------------------------------------


def callback_kind(kind: str) -> Callable[[object], bool]:
    """A CallbackQueryHandler pattern accepting our callback data of one kind."""

    def matches(data: object) -> bool:
        parsed = cb.parse(data) if isinstance(data, str) else None
        return parsed is not None and parsed.kind == kind

    return matches


def command_argument(text: str | None) -> str:
    """The text after the command word (`/subscribe@bot write for rights` -> the rest)."""
    parts = (text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def is_group(chat: Chat) -> bool:
    """Whether the chat is a group or supergroup."""
    return chat.type in _GROUP_TYPES


async def _may_change(update: Update, context: Context) -> bool:
    """Whether the sender may change this chat's subscriptions (asked afresh every time)."""
    chat = _chat(update)
    if chat.type == ChatType.PRIVATE:
        return True
    if not is_group(chat):
        return False
    message = update.message
    if message is not None and message.sender_chat is not None:
        # An anonymous group admin writes as the group itself.
        return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in _ADMIN_STATUSES


async def _refuse_command(update: Update) -> None:
    await _reply(update, render.admins_only_message())


# -- commands ---------------------------------------------------------------------------------


async def _picker(service: SubscriptionService, chat_id: int) -> RenderedMessage:
    """The topic picker of a chat, in its language."""
    topics = await service.list_topics(chat_id)
    return render.picker_message(topics, await service.language_of(chat_id))


async def start_command(update: Update, context: Context) -> None:
    """/start [sub-<slug>[-<code>]]: welcome, an optional deep-link subscription, the picker.

    A shared link's code credits its message with a join on the chat's first contact.
    """
    service = subscriptions_of(context)
    chat = _chat(update)
    argument = command_argument(_message(update).text)
    subscribed = None
    already = False
    unknown = None
    # sub-<slug>-<code>: a shared link (bot.handlers.sharing), which credits the message.
    referral = start_referral(_message(update).text)
    if argument.lower().startswith(DEEP_LINK_SUBSCRIBE):
        key = referral[0] if referral else argument[len(DEEP_LINK_SUBSCRIBE) :]
        if not await _may_change(update, context):
            await _refuse_command(update)
        else:
            try:
                if referral is not None:
                    joined = await sharing_of(context).join(chat.id, chat.type, *referral)
                    change = joined.change
                else:
                    change = await service.subscribe(chat.id, key, chat_type=chat.type)
            except TopicNotFoundError:
                unknown = key
            else:
                subscribed, already = change.topic, not change.changed
    if referral is not None:  # the observer left registering this chat to /start
        await service.register_chat(chat.id, chat.type)
    welcome = render.welcome_message(
        group=is_group(chat), subscribed=subscribed, already=already, unknown_key=unknown
    )
    await _reply(update, welcome)
    await _reply(update, await _picker(service, chat.id))


async def help_command(update: Update, context: Context) -> None:
    """/help: every command a supporter may use, in one message."""
    await _reply(update, render.help_message(group=is_group(_chat(update))))


async def topics_command(update: Update, context: Context) -> None:
    """/topics: every topic with its description and a toggle button (✅ when followed)."""
    chat = _chat(update)
    await _reply(update, await _picker(subscriptions_of(context), chat.id))


async def subscribe_command(update: Update, context: Context) -> None:
    """/subscribe <topic>: follow a topic by name or slug; without one, show the picker."""
    chat = _chat(update)
    key = command_argument(_message(update).text)
    service = subscriptions_of(context)
    if not key:
        await _reply(update, await _picker(service, chat.id))
        return
    if not await _may_change(update, context):
        await _refuse_command(update)
        return
    try:
        change = await service.subscribe(chat.id, key, chat_type=chat.type)
    except TopicNotFoundError as error:
        await _reply(update, topic_not_found_message(error.key, error.suggestions))
        return
    await _reply(
        update,
        render.subscribed_message(
            change.topic,
            changed=change.changed,
            group=is_group(chat),
            language=await service.language_of(chat.id),
        ),
    )


async def unsubscribe_command(update: Update, context: Context) -> None:
    """/unsubscribe <topic>|all: stop following; without a topic, show the picker."""
    chat = _chat(update)
    key = command_argument(_message(update).text)
    service = subscriptions_of(context)
    if not key:
        await _reply(update, await _picker(service, chat.id))
        return
    if not await _may_change(update, context):
        await _refuse_command(update)
        return
    if key.lower() == UNSUBSCRIBE_ALL:
        stopped = await service.unsubscribe_all(chat.id)
        language = await service.language_of(chat.id)
        await _reply(
            update,
            render.unsubscribed_all_message(stopped, group=is_group(chat), language=language),
        )
        return
    try:
        change = await service.unsubscribe(chat.id, key)
    except TopicNotFoundError as error:
        await _reply(update, topic_not_found_message(error.key, error.suggestions))
        return
    await _reply(
        update,
        render.unsubscribed_message(
            change.topic,
            changed=change.changed,
            group=is_group(chat),
            language=await service.language_of(chat.id),
        ),
    )


async def mysubs_command(update: Update, context: Context) -> None:
    """/mysubs: the chat's topics, a button per topic to unsubscribe."""
    chat = _chat(update)
    service = subscriptions_of(context)
    topics = await service.chat_topics(chat.id)
    language = await service.language_of(chat.id)
    await _reply(update, render.mysubs_message(topics, group=is_group(chat), language=language))


async def latest_command(update: Update, context: Context) -> None:
    """/latest [topic]: the newest posts, five a page, with ◀ ▶ buttons."""
    key = command_argument(_message(update).text)
    try:
        page = await subscriptions_of(context).latest(topic_key=key or None)
    except TopicNotFoundError as error:
        await _reply(update, topic_not_found_message(error.key, error.suggestions))
        return
    rendered = render.latest_page(
        page.posts,
        topic=page.topic,
        page=page.page,
        has_next=page.has_next,
        tz=timezone_of(context),
        language=await subscriptions_of(context).language_of(_chat(update).id),
    )
    await _reply(update, rendered)


async def mydata_command(update: Update, context: Context) -> None:
    """/mydata: everything stored about this chat (and, in private, about the person)."""
    chat = _chat(update)
    group = chat.type != ChatType.PRIVATE
    user = update.effective_user
    user_id = user.id if user is not None and not group else None
    view = await runtime_of(context).privacy.my_data(chat.id, user_id)
    await _reply(update, render_privacy.mydata_message(view, timezone_of(context), group=group))


async def forgetme_command(update: Update, context: Context) -> None:
    """/forgetme: ask to confirm deleting everything stored about the user (private chats)."""
    if _chat(update).type != ChatType.PRIVATE:
        await _reply(update, render.forget_in_group_message())
        return
    await _reply(update, render.forget_prompt())


async def free_text_message(update: Update, context: Context) -> None:
    """A private message that is not a command: point to /help."""
    await _reply(update, render.free_text_hint())


async def unknown_command(update: Update, context: Context) -> None:
    """A command nobody handles: a short hint (in groups only if it was addressed to us)."""
    message = _message(update)
    word = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    command, _, addressee = word.partition("@")
    if is_group(_chat(update)) and addressee.lower() != context.bot.username.lower():
        return  # another bot's command, or one meant for every bot in the group
    await _reply(update, render.unknown_command_hint(command))


# -- buttons ----------------------------------------------------------------------------------


async def _pressed(update: Update) -> cb.Callback | None:
    """The parsed press if it is valid and still on its message; else answer the notice."""
    query = _query(update)
    parsed = cb.parse(query.data)
    if parsed is None or not button_on_message(query):
        await _answer(query, INVALID_BUTTON)
        return None
    return parsed


async def topic_toggle_button(update: Update, context: Context) -> None:
    """A topic button in a picker (toggle) or in /mysubs (unsubscribe); edits in place."""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query = _query(update)
    chat = _chat(update)
    if not await _may_change(update, context):
        await _answer(query, render.ADMINS_ONLY)
        return
    service = subscriptions_of(context)
    try:
        if pressed.view == cb.VIEW_MYSUBS:
            change = await service.unsubscribe_topic(chat.id, pressed.topic_id)
        else:
            change = await service.toggle(chat.id, pressed.topic_id, chat_type=chat.type)
    except TopicNotFoundError:
        await _answer(query, INVALID_BUTTON)
        return
    language = await service.language_of(chat.id)
    await _answer(
        query, render.toggle_answer(change.topic, group=is_group(chat), language=language)
    )
    if pressed.view == cb.VIEW_MYSUBS:
        topics = await service.chat_topics(chat.id)
        await _edit(query, render.mysubs_message(topics, group=is_group(chat), language=language))
    else:
        await _edit(query, await _picker(service, chat.id))


async def topic_off_button(update: Update, context: Context) -> None:
    """The "Unsubscribe from <topic>" button under a post: unsubscribe; the post stays."""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query = _query(update)
    if not await _may_change(update, context):
        await _answer(query, render.ADMINS_ONLY)
        return
    chat = _chat(update)
    service = subscriptions_of(context)
    try:
        change = await service.unsubscribe_topic(chat.id, pressed.topic_id)
    except TopicNotFoundError:
        await _answer(query, INVALID_BUTTON)
        return
    answer = render.topic_off_answer(
        change.topic,
        changed=change.changed,
        group=is_group(chat),
        language=await service.language_of(chat.id),
    )
    await _answer(query, answer)


async def latest_page_button(update: Update, context: Context) -> None:
    """◀ ▶ under /latest: show another page in the same message."""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query = _query(update)
    try:
        page = await subscriptions_of(context).latest(
            topic_id=pressed.topic_id or None, page=pressed.page
        )
    except TopicNotFoundError:
        await _answer(query, INVALID_BUTTON)
        return
    await _answer(query)
    rendered = render.latest_page(
        page.posts,
        topic=page.topic,
        page=page.page,
        has_next=page.has_next,
        tz=timezone_of(context),
        language=await subscriptions_of(context).language_of(_chat(update).id),
    )
    await _edit(query, rendered)


async def forget_confirm_button(update: Update, context: Context) -> None:
    """The "Delete everything" button of /forgetme: delete and say what was deleted."""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query = _query(update)
    chat = _chat(update)
    if chat.type != ChatType.PRIVATE or query.from_user.id != chat.id:
        await _answer(query, INVALID_BUTTON)
        return
    result = await subscriptions_of(context).forget(chat.id, query.from_user.id)
    await _answer(query, "Deleted." if not result.nothing else None)
    await _edit(
        query,
        render.forget_done_message(
            chat=result.chat,
            subscriptions=result.subscriptions,
            deliveries=result.deliveries,
            user=result.user,
            role=result.role,
        ),
    )


async def forget_cancel_button(update: Update, context: Context) -> None:
    """The "Cancel" button of /forgetme: nothing is deleted."""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query = _query(update)
    await _answer(query)
    await _edit(query, render.forget_cancelled_message())


async def noop_button(update: Update, context: Context) -> None:
    """A button that only acknowledges the press."""
    await _answer(_query(update))


async def invalid_button(update: Update, context: Context) -> None:
    """Any other callback data (forged, stale or from an old version): say so, change nothing."""
    await _answer(_query(update), INVALID_BUTTON)
