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
from bot.handlers.context import (
    Context,
    language_of,
    runtime_of,
    subscriptions_of,
    timezone_of,
)
from bot.handlers.context import chat_of as _chat
from bot.handlers.context import message_of as _message
from bot.handlers.context import query_of as _query
from bot.handlers.guards import button_on_message, message_buttons
from bot.handlers.menus import staff_entries
from bot.handlers.replies import answer as _answer
from bot.handlers.replies import edit as _edit
from bot.handlers.replies import reply as _reply
from bot.handlers.sharing import sharing_of, start_referral
from bot.render import callback_data as cb
from bot.render import pace as render_pace
from bot.render import privacy as render_privacy
from bot.render import supporters as render
from bot.render.i18n import LANGUAGES
from bot.render.text import RenderedMessage, escape, topic_not_found_message
from bot.render.text import invalid_button as _invalid

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


async def _refuse_command(update: Update, context: Context) -> None:
    await _reply(update, render.admins_only_message(await language_of(update, context)))


# -- commands ---------------------------------------------------------------------------------


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
            await _refuse_command(update, context)
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
        user = update.effective_user
        await service.register_chat(chat.id, chat.type, user.language_code if user else None)
    language = await language_of(update, context)
    welcome = render.welcome_message(
        group=is_group(chat),
        subscribed=subscribed,
        already=already,
        unknown_key=unknown,
        language=language,
    )
    await _reply(update, welcome)
    topics = await service.list_topics(chat.id)
    await _reply(update, render.picker_message(topics, language))


async def help_command(update: Update, context: Context) -> None:
    """/help: every command a supporter may use, in one message.

    In a private chat, an organiser's or admin's /help adds the commands of their role (their
    command menu's entries), the role asked at the moment of use.
    """
    language = await language_of(update, context)
    chat, user = _chat(update), update.effective_user
    staff: tuple[tuple[str, str], ...] = ()
    if chat.type == ChatType.PRIVATE and user is not None:
        staff = staff_entries(await runtime_of(context).roles.role_of(user.id))
    await _reply(update, render.help_message(group=is_group(chat), language=language, staff=staff))


async def topics_command(update: Update, context: Context) -> None:
    """/topics: every topic with its description and a toggle button (✅ when followed)."""
    chat = _chat(update)
    topics = await subscriptions_of(context).list_topics(chat.id)
    await _reply(update, render.picker_message(topics, await language_of(update, context)))


async def subscribe_command(update: Update, context: Context) -> None:
    """/subscribe <topic>: follow a topic by name or slug; without one, show the picker."""
    chat = _chat(update)
    key = command_argument(_message(update).text)
    service = subscriptions_of(context)
    language = await language_of(update, context)
    if not key:
        await _reply(update, render.picker_message(await service.list_topics(chat.id), language))
        return
    if not await _may_change(update, context):
        await _refuse_command(update, context)
        return
    try:
        change = await service.subscribe(chat.id, key, chat_type=chat.type)
    except TopicNotFoundError as error:
        await _reply(update, topic_not_found_message(error.key, error.suggestions, language))
        return
    await _reply(
        update,
        render.subscribed_message(
            change.topic, changed=change.changed, group=is_group(chat), language=language
        ),
    )


async def unsubscribe_command(update: Update, context: Context) -> None:
    """/unsubscribe <topic>|all: stop following; without a topic, show the picker."""
    chat = _chat(update)
    key = command_argument(_message(update).text)
    service = subscriptions_of(context)
    language = await language_of(update, context)
    if not key:
        await _reply(update, render.picker_message(await service.list_topics(chat.id), language))
        return
    if not await _may_change(update, context):
        await _refuse_command(update, context)
        return
    if key.lower() == UNSUBSCRIBE_ALL:
        stopped = await service.unsubscribe_all(chat.id)
        await _reply(
            update,
            render.unsubscribed_all_message(stopped, group=is_group(chat), language=language),
        )
        return
    try:
        change = await service.unsubscribe(chat.id, key)
    except TopicNotFoundError as error:
        await _reply(update, topic_not_found_message(error.key, error.suggestions, language))
        return
    await _reply(
        update,
        render.unsubscribed_message(
            change.topic, changed=change.changed, group=is_group(chat), language=language
        ),
    )


async def mysubs_command(update: Update, context: Context) -> None:
    """/mysubs: the chat's topics, a button per topic to unsubscribe."""
    chat = _chat(update)
    topics = await subscriptions_of(context).chat_topics(chat.id)
    language = await language_of(update, context)
    await _reply(update, render.mysubs_message(topics, group=is_group(chat), language=language))


async def latest_command(update: Update, context: Context) -> None:
    """/latest [topic]: the newest posts, five a page, with ◀ ▶ buttons."""
    key = command_argument(_message(update).text)
    language = await language_of(update, context)
    try:
        page = await subscriptions_of(context).latest(topic_key=key or None)
    except TopicNotFoundError as error:
        await _reply(update, topic_not_found_message(error.key, error.suggestions, language))
        return
    rendered = render.latest_page(
        page.posts,
        topic=page.topic,
        page=page.page,
        has_next=page.has_next,
        tz=timezone_of(context),
        language=language,
    )
    await _reply(update, rendered)


async def mydata_command(update: Update, context: Context) -> None:
    """/mydata: everything stored about this chat (and, in private, about the person)."""
    chat = _chat(update)
    group = chat.type != ChatType.PRIVATE
    user = update.effective_user
    user_id = user.id if user is not None and not group else None
    view = await runtime_of(context).privacy.my_data(chat.id, user_id)
    language = await language_of(update, context)
    await _reply(
        update,
        render_privacy.mydata_message(view, timezone_of(context), group=group, language=language),
    )


async def forgetme_command(update: Update, context: Context) -> None:
    """/forgetme: ask to confirm deleting everything stored about the user (private chats)."""
    language = await language_of(update, context)
    if _chat(update).type != ChatType.PRIVATE:
        await _reply(update, render.forget_in_group_message(language))
        return
    await _reply(update, render.forget_prompt(language))


async def free_text_message(update: Update, context: Context) -> None:
    """A private message that is not a command: point to /help."""
    await _reply(update, render.free_text_hint(await language_of(update, context)))


async def unknown_command(update: Update, context: Context) -> None:
    """A command nobody handles: a short hint (in groups only if it was addressed to us)."""
    message = _message(update)
    word = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    command, _, addressee = word.partition("@")
    if is_group(_chat(update)) and addressee.lower() != context.bot.username.lower():
        return  # another bot's command, or one meant for every bot in the group
    language = await language_of(update, context)
    await _reply(update, render.unknown_command_hint(command, language))


# -- buttons ----------------------------------------------------------------------------------


async def _pressed(update: Update, context: Context) -> cb.Callback | None:
    """The parsed press if it is valid and still on its message; else answer the notice."""
    query = _query(update)
    parsed = cb.parse(query.data)
    if parsed is None or not button_on_message(query):
        await _answer(query, _invalid(await language_of(update, context)))
        return None
    return parsed


async def topic_toggle_button(update: Update, context: Context) -> None:
    """A topic button in a picker (toggle) or in /mysubs (unsubscribe); edits in place."""
    pressed = await _pressed(update, context)
    if pressed is None:
        return
    query = _query(update)
    chat = _chat(update)
    language = await language_of(update, context)
    if not await _may_change(update, context):
        await _answer(query, render.admins_only_answer(language))
        return
    service = subscriptions_of(context)
    try:
        if pressed.view == cb.VIEW_MYSUBS:
            change = await service.unsubscribe_topic(chat.id, pressed.topic_id)
        else:
            change = await service.toggle(chat.id, pressed.topic_id, chat_type=chat.type)
    except TopicNotFoundError:
        await _answer(query, _invalid(language))
        return
    await _answer(
        query, render.toggle_answer(change.topic, group=is_group(chat), language=language)
    )
    if pressed.view == cb.VIEW_MYSUBS:
        topics = await service.chat_topics(chat.id)
        await _edit(query, render.mysubs_message(topics, group=is_group(chat), language=language))
    else:
        topics = await service.list_topics(chat.id)
        await _edit(query, render.picker_message(topics, language))


async def topic_off_button(update: Update, context: Context) -> None:
    """The "Unsubscribe from <topic>" button under a post: unsubscribe; the post stays."""
    pressed = await _pressed(update, context)
    if pressed is None:
        return
    query = _query(update)
    language = await language_of(update, context)
    if not await _may_change(update, context):
        await _answer(query, render.admins_only_answer(language))
        return
    chat = _chat(update)
    service = subscriptions_of(context)
    try:
        change = await service.unsubscribe_topic(chat.id, pressed.topic_id)
    except TopicNotFoundError:
        await _answer(query, _invalid(language))
        return
    await _answer(
        query,
        render.topic_off_answer(
            change.topic, changed=change.changed, group=is_group(chat), language=language
        ),
    )


async def latest_page_button(update: Update, context: Context) -> None:
    """◀ ▶ under /latest: show another page in the same message."""
    pressed = await _pressed(update, context)
    if pressed is None:
        return
    query = _query(update)
    language = await language_of(update, context)
    try:
        page = await subscriptions_of(context).latest(
            topic_id=pressed.topic_id or None, page=pressed.page
        )
    except TopicNotFoundError:
        await _answer(query, _invalid(language))
        return
    await _answer(query)
    rendered = render.latest_page(
        page.posts,
        topic=page.topic,
        page=page.page,
        has_next=page.has_next,
        tz=timezone_of(context),
        language=language,
    )
    await _edit(query, rendered)


async def forget_confirm_button(update: Update, context: Context) -> None:
    """The "Delete everything" button of /forgetme: delete and say what was deleted."""
    pressed = await _pressed(update, context)
    if pressed is None:
        return
    query = _query(update)
    chat = _chat(update)
    language = await language_of(update, context)
    if chat.type != ChatType.PRIVATE or query.from_user.id != chat.id:
        await _answer(query, _invalid(language))
        return
    result = await subscriptions_of(context).forget(chat.id, query.from_user.id)
    await _answer(query, render.forget_deleted_answer(language) if not result.nothing else None)
    await _edit(
        query,
        render.forget_done_message(
            chat=result.chat,
            subscriptions=result.subscriptions,
            deliveries=result.deliveries,
            user=result.user,
            role=result.role,
            language=language,
        ),
    )


async def forget_cancel_button(update: Update, context: Context) -> None:
    """The "Cancel" button of /forgetme: nothing is deleted."""
    pressed = await _pressed(update, context)
    if pressed is None:
        return
    query = _query(update)
    await _answer(query)
    await _edit(query, render.forget_cancelled_message(await language_of(update, context)))


async def noop_button(update: Update, context: Context) -> None:
    """A button that only acknowledges the press."""
    await _answer(_query(update))


async def invalid_button(update: Update, context: Context) -> None:
    """Any other callback data (forged, stale or from an old version): say so, change nothing."""
    await _answer(_query(update), _invalid(await language_of(update, context)))


# -- /language ----------------------------------------------------------------------------------


async def language_command(update: Update, context: Context) -> None:
    """/language [en|fr]: show the language buttons, or set the chat's language directly.

    Private chats choose for themselves; in a group only its admins (asked at every change).
    """
    chat = _chat(update)
    service = subscriptions_of(context)
    language = await language_of(update, context)
    wanted = command_argument(_message(update).text).lower()
    if not wanted:
        await _reply(update, render.language_prompt(language, group=is_group(chat)))
        return
    code = wanted.replace("_", "-").split("-", 1)[0]
    if code not in LANGUAGES:
        await _reply(update, render.unknown_language_message(wanted, language))
        return
    if not await _may_change(update, context):
        await _reply(update, RenderedMessage(escape(render.language_admins_only(language))))
        return
    await service.set_language(chat.id, chat.type, code)
    await _reply(update, render.language_set_message(code, group=is_group(chat)))


async def language_button(update: Update, context: Context) -> None:
    """A /language or /settings language button: set the chat's language and edit the message.

    Under /language the prompt is shown again, under /settings the settings, in the new language.
    """
    query = _query(update)
    chat = _chat(update)
    language = await language_of(update, context)
    code = cb.parse_language(query.data)
    if code not in LANGUAGES or not button_on_message(query):
        await _answer(query, _invalid(language))
        return
    if not await _may_change(update, context):
        await _answer(query, render.language_admins_only(language))
        return
    await subscriptions_of(context).set_language(chat.id, chat.type, code)
    await _answer(query, render.language_set_answer(code))
    if render_pace.is_settings_keyboard(message_buttons(query)):
        # Pressed on /settings: edit that message in place, now in the new language.
        view = await runtime_of(context).pace.settings(chat.id, chat.type)
        await _edit(query, render_pace.settings_message(view, group=is_group(chat)))
        return
    await _edit(query, render.language_prompt(code, group=is_group(chat)))
