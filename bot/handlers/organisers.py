"""Organiser commands and buttons: /broadcast, /push, /broadcasts, /cancel.

Owns the broadcast conversation (drawn in organisers.mmd): /broadcast <topics>|all or
/push <post URL> <topic> [intro] -> compose (text or one photo; for /push the intro line) ->
the other language's version when some chat of the audience reads it (or "skip") ->
"Take action" link -> action button ("✅ I did it", an own label, or none; /broadcast
only) -> preview (the very message supporters get, rendered by the renderer the
delivery engine uses, then the audience and Send now / Schedule / Cancel) -> send, or ask
when and schedule, or cancel. The draft lives in `user_data` until confirmed; only Send now
and Schedule write rows (through `BroadcastService`). /cancel leaves at any step; a draft
expires after CONVERSATION_TIMEOUT.

The jobs that start scheduled broadcasts and keep progress messages current live in
`bot.handlers.broadcast_jobs`; scheduling a draft sets its timer there (`set_fire_timer`).

Every command, every button and every step of the conversation checks the organiser role at
the moment of use: `requires(Role.ORGANISER)` outside the conversation, `organiser_step` on
every handler inside it (a refusal there also drops the draft). /cancel needs no role: it only
discards the caller's own draft. Domain errors are mapped here, in this order:
`TopicNotFoundError` -> "No topic called X. Did you mean …"; `NotFoundError` for a post ->
"I have no post with the link …"; `InvalidInputError` -> its message, and the step repeats.
Must not: import SQLAlchemy or `bot.db`, or keep state outside `user_data` and the runtime.
"""

from __future__ import annotations

import functools
import secrets
import warnings
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from telegram import (
    Chat,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.domain.delivery_policy import paid_estimate
from bot.domain.topics import check_action_label
from bot.domain.types import Role
from bot.domain.when import parse_when
from bot.errors import InvalidInputError, NotFoundError, TopicNotFoundError
from bot.handlers.broadcast_jobs import set_fire_timer
from bot.handlers.context import Context, language_of, runtime_of
from bot.handlers.context import message_of as _message
from bot.handlers.context import query_of as _query
from bot.handlers.guards import genuine_press, in_private_chat, permitted, private_only, requires
from bot.handlers.replies import answer as _answer
from bot.handlers.replies import edit_message, reply
from bot.render import callback_data as cb
from bot.render import organisers as render
from bot.render.actions import DEFAULT_ACTION_LABEL
from bot.render.text import (
    RenderedMessage,
    escape,
    invalid_button,
    reason,
    topic_not_found_message,
)
from bot.services.broadcasts import (
    Audience,
    BroadcastDraft,
    BroadcastService,
    PushPlan,
    validate_action_url,
)

COMPOSING, LINKING, INTRO, PREVIEWING, SCHEDULING, ACTING, LABELLING, TRANSLATING = range(8)
CONVERSATION_TIMEOUT = 15 * 60
CONVERSATION_NAME = "broadcast"
DRAFT = "broadcast_draft"
SKIP = "skip"

# The chat of the throw-away Message that `safe_html` renders through.
_CHAT = Chat(0, ChatType.PRIVATE)
_NEW = filters.UpdateType.MESSAGE


@dataclass(slots=True)
class _Pending:
    """A draft in the making, kept in `user_data` (never in the database)."""

    token: str
    audience: Audience
    text_html: str = ""
    photo: str | None = None
    action_url: str | None = None
    post_id: int | None = None
    push: PushPlan | None = None
    action_label: str | None = None
    respect_pace: bool = False
    # The organiser's language (what they write first) and the other languages' versions.
    language: str = "en"
    versions: list[tuple[str, str]] = field(default_factory=list)
    paid: bool = False  # "fast (paid)" chosen under the preview (ALLOW_PAID_BROADCAST)

    def draft(self, *, paid_allowed: bool = False) -> BroadcastDraft:
        return BroadcastDraft(
            audience=self.audience,
            text_html=self.text_html,
            photo=self.photo,
            action_url=self.action_url,
            post_id=self.post_id,
            action_label=self.action_label,
            respect_pace=self.respect_pace,
            language=self.language,
            versions=tuple(self.versions),
            paid=self.paid and paid_allowed,
        )


# -- helpers (pure or thin) --------------------------------------------------------------------


def safe_html(text: str, entities: Sequence[MessageEntity]) -> str:
    """Telegram HTML for a text and its formatting entities, every part escaped.

    PTB's `Message.text_html` does the conversion (nesting, UTF-16 offsets, escaping of the
    text), but writes link targets and code languages as they are: a quote in a URL would end
    the href. So the links are escaped first, and a `pre` language becomes `language-…`.
    """
    fixed = []
    for entity in entities:
        if entity.type == MessageEntityType.TEXT_LINK and entity.url:
            entity = MessageEntity(
                entity.type, entity.offset, entity.length, url=escape(entity.url)
            )
        elif entity.type == MessageEntityType.PRE and entity.language:
            language = "".join(c for c in entity.language if c.isalnum() or c in "+-_#.")
            entity = MessageEntity(
                entity.type, entity.offset, entity.length, language=f"language-{language}"
            )
        fixed.append(entity)
    carrier = Message(
        0,
        datetime.fromtimestamp(0, UTC),
        _CHAT,
        text=text,
        entities=tuple(fixed),
    )
    return carrier.text_html


def command_words(text: str | None) -> list[str]:
    """The words after the command word."""
    return (text or "").split()[1:]


def actor_name(update: Update) -> tuple[int, str]:
    """Who acts, as the audit log names them: "@username (id)" or the id."""
    user = update.effective_user
    if user is None:
        raise ValueError("update without a user")
    return user.id, f"@{user.username} ({user.id})" if user.username else str(user.id)


# Organisers' messages quote the links of their drafts: never a link preview.
_reply = functools.partial(reply, previews_off=True)
_edit = functools.partial(edit_message, previews_off=True)


def _pending(context: Context) -> _Pending | None:
    pending = context.user_data.get(DRAFT) if context.user_data is not None else None
    return pending if isinstance(pending, _Pending) else None


def _drop(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)


def _start(context: Context, pending: _Pending) -> None:
    if context.user_data is None:  # pragma: no cover - private chats always have user data
        raise ValueError("no user_data")
    context.user_data[DRAFT] = pending


async def _show_preview(update: Update, context: Context, pending: _Pending) -> int:
    """Send the exact message supporters get, then the audience and the buttons.

    With several language versions, each is previewed (after a heading naming it), and the
    audience is given per language.
    """
    draft = pending.draft()
    chat_id = _message(update).chat_id
    languages = [draft.language, *(lang for lang, _ in draft.versions)]
    for language in languages:
        preview = BroadcastService.preview(draft, language)
        if len(languages) > 1:
            heading = render.version_heading(language, pending.language)
            await context.bot.send_message(chat_id, heading.text)
        # The same calls as bot.sender.TelegramSender.send, so the preview matches the delivery.
        if draft.photo:
            await context.bot.send_photo(
                chat_id, draft.photo, caption=preview.text, reply_markup=preview.reply_markup
            )
        else:
            await context.bot.send_message(
                chat_id,
                preview.text,
                reply_markup=preview.reply_markup,
                link_preview_options=LinkPreviewOptions(is_disabled=preview.disable_preview),
            )
    summary = await _summary(context, pending, languages)
    await context.bot.send_message(chat_id, summary.text, reply_markup=summary.reply_markup)
    return PREVIEWING


async def _summary(
    context: Context, pending: _Pending, versions: list[str] | None = None
) -> RenderedMessage:
    """The audience under the preview (now, later, per language) with the buttons.

    With ALLOW_PAID_BROADCAST, also the pace and its cost in Stars.
    """
    settings = runtime_of(context).settings
    audience = pending.audience
    later = 0
    if pending.respect_pace:
        topic_ids = None if audience.everyone else [t.id for t in audience.topics]
        _, later = await runtime_of(context).pace.audience_now_later(topic_ids)
    offer = (
        paid_estimate(audience.chats, settings.send_rate_per_second)
        if settings.allow_paid_broadcast
        else None
    )
    return render.preview_summary_message(
        audience.labels_in(pending.language),
        audience.everyone,
        audience.chats,
        pending.token,
        pending.language,
        respect_pace=pending.respect_pace,
        later=later,
        by_language=audience.by_language,
        versions=versions or [pending.language, *(lang for lang, _ in pending.versions)],
        paid_offer=offer,
        paid=pending.paid and offer is not None,
    )


# -- entry points ------------------------------------------------------------------------------


async def broadcast_command(update: Update, context: Context) -> int:
    """/broadcast <topic> [<topic> …] | all: start a draft and ask for the message."""
    words = command_words(_message(update).text)
    language = await language_of(update, context)
    service = runtime_of(context).broadcasts
    try:
        audience = await service.audience(words)
    except TopicNotFoundError as error:
        await _reply(update, topic_not_found_message(error.key, error.suggestions, language))
        return ConversationHandler.END
    except InvalidInputError:
        await _reply(update, render.broadcast_usage_message(language))
        return ConversationHandler.END
    _start(context, _Pending(secrets.token_hex(4), audience, language=language))
    await _reply(
        update,
        render.compose_prompt(
            audience.labels_in(language), audience.everyone, audience.chats, language
        ),
    )
    return COMPOSING


async def push_command(update: Update, context: Context) -> int:
    """/push <post URL> <topic> [intro]: re-announce a stored post to a topic."""
    words = command_words(_message(update).text)
    language = await language_of(update, context)
    if len(words) < 2:
        await _reply(update, render.push_usage_message(language))
        return ConversationHandler.END
    service = runtime_of(context).broadcasts
    try:
        plan = await service.plan_push(words[0], words[1:])
    except TopicNotFoundError as error:
        await _reply(update, topic_not_found_message(error.key, error.suggestions, language))
        return ConversationHandler.END
    except NotFoundError:
        await _reply(update, render.push_post_not_found_message(words[0], language))
        return ConversationHandler.END
    except InvalidInputError:
        await _reply(update, render.push_usage_message(language))
        return ConversationHandler.END
    pending = _Pending(secrets.token_hex(4), plan.audience, push=plan)
    _start(context, pending)
    if plan.intro is None:
        await _reply(update, render.intro_prompt(await language_of(update, context)))
        return INTRO
    return await _use_push(update, context, pending, plan.intro)


async def _use_push(update: Update, context: Context, pending: _Pending, intro: str | None) -> int:
    if pending.push is None:  # pragma: no cover - only push drafts get here
        raise ValueError("not a push draft")
    draft = runtime_of(context).broadcasts.push_draft(pending.push, intro)
    pending.text_html = draft.text_html
    pending.action_url = draft.action_url
    pending.post_id = draft.post_id
    return await _show_preview(update, context, pending)


# -- conversation steps ------------------------------------------------------------------------


async def compose_text(update: Update, context: Context) -> int | None:
    """The message, as text: keep its formatting as safe HTML; then ask for the link."""
    pending = _pending(context)
    message = _message(update)
    if pending is None or message.text is None:
        return ConversationHandler.END
    refusal = render.text_limit_error(
        message.text, caption=False, language=await language_of(update, context)
    )
    if refusal is not None:
        await _reply(update, render.input_refused_message(refusal))
        return None
    pending.text_html = safe_html(message.text, message.entities)
    pending.photo = None
    return await _after_message(update, pending)


async def compose_photo(update: Update, context: Context) -> int | None:
    """The message, as one photo with an optional caption; then ask for the link."""
    pending = _pending(context)
    message = _message(update)
    if pending is None or not message.photo:
        return ConversationHandler.END
    caption = message.caption or ""
    refusal = render.text_limit_error(
        caption, caption=True, language=await language_of(update, context)
    )
    if refusal is not None:
        await _reply(update, render.input_refused_message(refusal))
        return None
    pending.text_html = safe_html(caption, message.caption_entities) if caption else ""
    pending.photo = message.photo[-1].file_id
    return await _after_message(update, pending)


async def _after_message(update: Update, pending: _Pending) -> int:
    """Offer the next missing language's version, or go on to the link."""
    pending.versions = []
    return await _next_version_or_link(update, pending)


def _wanted_versions(pending: _Pending) -> tuple[str, ...]:
    """Languages without a version yet that some chat of the audience reads."""
    readers = {lang for lang, count in pending.audience.by_language if count}
    return tuple(lang for lang in pending.draft().missing_languages() if lang in readers)


async def _next_version_or_link(update: Update, pending: _Pending) -> int:
    """Offer the next language some chat of the audience reads and the draft lacks."""
    missing = _wanted_versions(pending)
    if missing:
        await _reply(update, render.version_prompt(missing[0], pending.language, pending.language))
        return TRANSLATING
    await _reply(update, render.link_prompt(pending.language))
    return LINKING


async def version_text(update: Update, context: Context) -> int | None:
    """The other language's version of the message, or "skip"; then the link.

    The version is text (for a photo broadcast, its caption), checked like the message.
    """
    pending = _pending(context)
    message = _message(update)
    if pending is None or message.text is None:
        return ConversationHandler.END
    missing = _wanted_versions(pending)
    if message.text.strip().lower() == SKIP or not missing:
        await _reply(update, render.link_prompt(pending.language))
        return LINKING
    refusal = render.text_limit_error(
        message.text, caption=pending.photo is not None, language=pending.language
    )
    if refusal is not None:
        await _reply(update, render.input_refused_message(refusal))
        return None
    pending.versions.append((missing[0], safe_html(message.text, message.entities)))
    return await _next_version_or_link(update, pending)


async def compose_other(update: Update, context: Context) -> None:
    """Anything else while composing: ask again."""
    await _reply(update, render.compose_retry_message(await language_of(update, context)))


async def version_other(update: Update, context: Context) -> None:
    """Anything but text where the other language's version is asked for: ask again."""
    pending = _pending(context)
    await _reply(update, render.version_retry_message(pending.language if pending else "en"))


async def link_text(update: Update, context: Context) -> int | None:
    """The "Take action" link, or "skip"; then offer the action button."""
    pending = _pending(context)
    if pending is None:
        return ConversationHandler.END
    try:
        pending.action_url = validate_action_url(_message(update).text or "")
    except InvalidInputError as error:
        await _reply(
            update, render.input_refused_message(reason(error, await language_of(update, context)))
        )
        return None
    await _reply(update, render.action_prompt(pending.token, await language_of(update, context)))
    return ACTING


async def action_default_button(update: Update, context: Context) -> int | None:
    """The "✅ I did it" button: the action button with the default label; then the preview."""
    pending = await _pressed_draft(update, context)
    if pending is None:
        return None
    await _answer(_query(update))
    pending.action_label = DEFAULT_ACTION_LABEL
    return await _show_preview(update, context, pending)


async def action_own_button(update: Update, context: Context) -> int | None:
    """The "Own label…" button: the organiser's next message is the label."""
    if await _pressed_draft(update, context) is None:
        return None
    await _answer(_query(update))
    await _reply(update, render.action_label_prompt(await language_of(update, context)))
    return LABELLING


async def action_none_button(update: Update, context: Context) -> int | None:
    """The "No button" button: no action button; then the preview."""
    pending = await _pressed_draft(update, context)
    if pending is None:
        return None
    await _answer(_query(update))
    pending.action_label = None
    return await _show_preview(update, context, pending)


async def action_choice_text(update: Update, context: Context) -> None:
    """Text while the action-button question waits for a button."""
    await _reply(update, render.action_choice_pending_message(await language_of(update, context)))


async def label_text(update: Update, context: Context) -> int | None:
    """The own label (trimmed, 1-40 characters, one line); then the preview, or ask again."""
    pending = _pending(context)
    if pending is None:
        return ConversationHandler.END
    try:
        pending.action_label = check_action_label(_message(update).text or "")
    except InvalidInputError as error:
        language = await language_of(update, context)
        message = render.action_label_refused_message(reason(error, language), language)
        await _reply(update, message)
        return None
    return await _show_preview(update, context, pending)


async def intro_text(update: Update, context: Context) -> int:
    """The intro line of a /push, or "skip"; then the preview."""
    pending = _pending(context)
    if pending is None:
        return ConversationHandler.END
    text = (_message(update).text or "").strip()
    return await _use_push(update, context, pending, None if text.lower() == SKIP else text)


async def preview_text(update: Update, context: Context) -> None:
    """Text while the preview waits for a button."""
    await _reply(update, render.preview_pending_message(await language_of(update, context)))


async def _pressed_draft(update: Update, context: Context) -> _Pending | None:
    """The draft a Send now / Schedule / Cancel press belongs to, or None (stale button)."""
    query = _query(update)
    parsed = cb.parse_broadcast(query.data)
    pending = _pending(context)
    if parsed is None or pending is None or parsed.token != pending.token:
        await _answer(query, render.draft_stale_answer(await language_of(update, context)))
        return None
    return pending


async def send_button(update: Update, context: Context) -> int | None:
    """Send now: record the broadcast and its deliveries; the summary becomes the progress."""
    pending = await _pressed_draft(update, context)
    if pending is None:
        return None
    query = _query(update)
    message = query.message
    runtime = runtime_of(context)
    actor_id, actor = actor_name(update)
    view = await runtime.broadcasts.send_now(
        pending.draft(paid_allowed=runtime.settings.allow_paid_broadcast),
        actor_id=actor_id,
        actor=actor,
        progress_chat_id=message.chat.id if message else None,
        progress_message_id=message.message_id if message else None,
    )
    _drop(context)
    runtime.wake_delivery()
    language = await language_of(update, context)
    await _answer(query, render.sending_answer(language))
    progress = render.progress_message(view, language)
    runtime.progress.edited(view.id, progress.text)
    if message is not None:
        await _edit(context.bot, message.chat.id, message.message_id, progress)
    return ConversationHandler.END


async def pace_button(update: Update, context: Context) -> int | None:
    """Toggle "respect digests and quiet hours"; the summary shows who gets it now and later."""
    pending = await _pressed_draft(update, context)
    if pending is None:
        return None
    pending.respect_pace = not pending.respect_pace
    query = _query(update)
    await _answer(query)
    summary = await _summary(context, pending)
    message = query.message
    if message is not None:
        await _edit(context.bot, message.chat.id, message.message_id, summary)
    return None


async def paid_button(update: Update, context: Context) -> int | None:
    """Fast (paid) / Normal pace: switch the draft's pace and show the cost (or refuse)."""
    pending = await _pressed_draft(update, context)
    if pending is None:
        return None
    query = _query(update)
    if not runtime_of(context).settings.allow_paid_broadcast:
        await _answer(query, render.paid_not_allowed_answer(pending.language))
        return None
    pending.paid = not pending.paid
    await _answer(query, render.paid_switched_answer(pending.paid, pending.language))
    message = query.message
    if message is not None:
        summary = await _summary(context, pending)
        await _edit(context.bot, message.chat.id, message.message_id, summary)
    return None


async def schedule_button(update: Update, context: Context) -> int | None:
    """Schedule: ask when."""
    if await _pressed_draft(update, context) is None:
        return None
    await _answer(_query(update))
    tz = runtime_of(context).settings.timezone
    await _reply(update, render.when_prompt(str(tz), await language_of(update, context)))
    return SCHEDULING


async def discard_button(update: Update, context: Context) -> int | None:
    """Cancel under the preview: drop the draft."""
    if await _pressed_draft(update, context) is None:
        return None
    query = _query(update)
    _drop(context)
    await _answer(query)
    if isinstance(query.message, Message):
        await _edit(
            context.bot,
            query.message.chat.id,
            query.message.message_id,
            render.draft_cancelled_message(await language_of(update, context)),
        )
    return ConversationHandler.END


async def when_text(update: Update, context: Context) -> int | None:
    """The time to send at: parse it in BOT_TIMEZONE, record the scheduled broadcast."""
    pending = _pending(context)
    if pending is None:
        return ConversationHandler.END
    runtime = runtime_of(context)
    service = runtime.broadcasts
    tz = runtime.settings.timezone
    try:
        when = parse_when(_message(update).text or "", service.now(), tz)
        actor_id, actor = actor_name(update)
        view = await service.schedule(pending.draft(), when, actor_id=actor_id, actor=actor)
    except InvalidInputError as error:
        await _reply(
            update, render.input_refused_message(reason(error, await language_of(update, context)))
        )
        return None
    _drop(context)
    set_fire_timer(context, view.id, when, service.now())
    await _reply(update, render.scheduled_message(view, tz, await language_of(update, context)))
    return ConversationHandler.END


async def cancel_command(update: Update, context: Context) -> int:
    """/cancel inside the flow: drop the draft, nothing is written."""
    _drop(context)
    await _reply(update, render.draft_cancelled_message(await language_of(update, context)))
    return ConversationHandler.END


async def timeout_step(update: Update, context: Context) -> None:
    """The draft expired: say so (unless the organiser went on through another instance)."""
    if await _continued_elsewhere(update, context):
        return
    _drop(context)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(
            chat.id, render.draft_expired_message(await language_of(update, context)).text
        )


async def _continued_elsewhere(update: Update, context: Context) -> bool:
    """Whether another instance saved a later step of this draft (then this timer is stale).

    Several instances on PostgreSQL only (bot/handlers/shared_conversation.py).
    """
    runtime = runtime_of(context)
    chat, user = update.effective_chat, update.effective_user
    if not runtime.settings.is_postgresql or chat is None or user is None:
        return False
    saved = await runtime.conversations.load(CONVERSATION_NAME, f"{chat.id}:{user.id}")
    # This instance's own last step is a full timeout old by now; a later one is younger.
    age = runtime.conversations.now() - saved.saved_at if saved is not None else None
    return age is not None and age < CONVERSATION_TIMEOUT * 0.99


# -- outside the conversation ------------------------------------------------------------------


@private_only
async def cancel_idle_command(update: Update, context: Context) -> None:
    """/cancel with no draft (anyone may ask: supporters too get a plain answer)."""
    await _reply(update, render.nothing_to_cancel_message(await language_of(update, context)))


@requires(Role.ORGANISER)
async def stale_draft_button(update: Update, context: Context) -> None:
    """A Send now / Schedule / Cancel button of a preview that is no longer active."""
    await _answer(_query(update), render.draft_stale_answer(await language_of(update, context)))


@requires(Role.ORGANISER)
async def broadcasts_command(update: Update, context: Context) -> None:
    """/broadcasts: the scheduled broadcasts (with Cancel buttons) and the recent ones."""
    runtime = runtime_of(context)
    language = await language_of(update, context)
    recent, scheduled = await runtime.broadcasts.overview(language=language)
    await _reply(
        update,
        render.broadcasts_list_message(recent, scheduled, runtime.settings.timezone, language),
    )


@requires(Role.ORGANISER)
async def cancel_scheduled_button(update: Update, context: Context) -> None:
    """The "Cancel #N" button of /broadcasts: cancel that broadcast, refresh the list."""
    query = _query(update)
    parsed = cb.parse_broadcast(query.data)
    language = await language_of(update, context)
    if parsed is None:
        await _answer(query, invalid_button(language))
        return
    runtime = runtime_of(context)
    service = runtime.broadcasts
    actor_id, actor = actor_name(update)
    try:
        changed = await service.cancel(parsed.broadcast_id, actor_id=actor_id, actor=actor)
    except NotFoundError:
        await _answer(query, invalid_button(language))
        return
    await _answer(
        query,
        render.broadcast_cancelled_answer(parsed.broadcast_id, changed=changed, language=language),
    )
    if isinstance(query.message, Message):
        recent, scheduled = await service.overview(language=language)
        await _edit(
            context.bot,
            query.message.chat.id,
            query.message.message_id,
            render.broadcasts_list_message(recent, scheduled, runtime.settings.timezone, language),
        )


# -- registration ------------------------------------------------------------------------------

_Coroutine = Callable[[Update, Context], Coroutine[Any, Any, Any]]


def _cb(callback: Callable[[Update, Context], Any]) -> _Coroutine:
    """A guarded callback as PTB's handlers type it (`requires` keeps the coroutine)."""
    return cast(_Coroutine, callback)


def organiser_step(callback: Callable[[Update, Context], Any]) -> _Coroutine:
    """A step of the broadcast conversation, taken only by someone who is an organiser now.

    A refusal (the role was revoked since the draft began) drops the draft and ends the
    conversation, so nothing of it can be sent or scheduled later.
    """

    @functools.wraps(callback)
    async def step(update: Update, context: Context) -> Any:
        if not await in_private_chat(update, context):
            return ConversationHandler.END  # a draft in the private chat stays
        if not await permitted(update, context, Role.ORGANISER, callback.__name__):
            _drop(context)
            return ConversationHandler.END
        if not await genuine_press(update, context):
            return None  # forged button data: answered, the draft goes on
        return await callback(update, context)

    return step


def _organiser_steps(
    handlers: list[BaseHandler[Any, Any, Any]],
) -> list[BaseHandler[Any, Any, Any]]:
    """The handlers, each callback wrapped in `organiser_step`."""
    for handler in handlers:
        handler.callback = organiser_step(handler.callback)
    return handlers


def conversation() -> ConversationHandler[Any]:
    """The /broadcast and /push conversation (see organisers.mmd).

    Every entry point and every state's handler goes through `organiser_step`, so each step
    checks the role at the moment of use; a new state is checked without anyone having to
    remember it. Only /cancel (it discards the draft, nothing more) and the timeout are not.
    """

    def draft_button(callback: _Coroutine, kind: str) -> CallbackQueryHandler[Any, Any]:
        return CallbackQueryHandler(callback, pattern=rf"^{kind}:[0-9a-f]{{8}}$")

    def buttons() -> list[BaseHandler[Any, Any, Any]]:
        return [
            CallbackQueryHandler(send_button, pattern=rf"^{cb.BROADCAST_SEND}:[0-9a-f]{{8}}$"),
            CallbackQueryHandler(
                schedule_button, pattern=rf"^{cb.BROADCAST_SCHEDULE}:[0-9a-f]{{8}}$"
            ),
            CallbackQueryHandler(
                discard_button, pattern=rf"^{cb.BROADCAST_DISCARD}:[0-9a-f]{{8}}$"
            ),
            CallbackQueryHandler(pace_button, pattern=rf"^{cb.BROADCAST_PACE}:[0-9a-f]{{8}}$"),
            CallbackQueryHandler(paid_button, pattern=rf"^{cb.BROADCAST_PAID}:[0-9a-f]{{8}}$"),
        ]

    text = filters.TEXT & ~filters.COMMAND & _NEW
    steps: dict[object, list[BaseHandler[Any, Any, Any]]] = {
        COMPOSING: [
            MessageHandler(text, compose_text),
            MessageHandler(filters.PHOTO & _NEW, compose_photo),
            MessageHandler(~filters.COMMAND & _NEW, compose_other),
        ],
        TRANSLATING: [
            MessageHandler(text, version_text),
            MessageHandler(~filters.COMMAND & _NEW, version_other),
        ],
        LINKING: [MessageHandler(text, link_text)],
        ACTING: [
            draft_button(action_default_button, cb.BROADCAST_ACTION_DEFAULT),
            draft_button(action_own_button, cb.BROADCAST_ACTION_OWN),
            draft_button(action_none_button, cb.BROADCAST_ACTION_NONE),
            MessageHandler(text, action_choice_text),
        ],
        LABELLING: [MessageHandler(text, label_text)],
        INTRO: [MessageHandler(text, intro_text)],
        PREVIEWING: [*buttons(), MessageHandler(text, preview_text)],
        SCHEDULING: [*buttons(), MessageHandler(text, when_text)],
    }
    states = {state: _organiser_steps(handlers) for state, handlers in steps.items()}
    states[ConversationHandler.TIMEOUT] = [TypeHandler(Update, timeout_step)]
    entry_points: list[BaseHandler[Any, Any, Any]] = [
        CommandHandler("broadcast", broadcast_command, filters=_NEW),
        CommandHandler("push", push_command, filters=_NEW),
    ]
    with warnings.catch_warnings():
        # One conversation per organiser and chat is what we want; the buttons carry the
        # draft's token, so a button under an older preview cannot act on a newer draft.
        warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
        return ConversationHandler(
            entry_points=_organiser_steps(entry_points),
            states=states,
            fallbacks=[CommandHandler("cancel", cancel_command, filters=_NEW)],
            allow_reentry=True,
            conversation_timeout=CONVERSATION_TIMEOUT,
            name=CONVERSATION_NAME,
        )


def organiser_handlers() -> list[Any]:
    """Every organiser handler, in order, for `register_handlers` (before the fallbacks)."""
    return [
        conversation(),
        CommandHandler("broadcasts", _cb(broadcasts_command), filters=_NEW),
        CommandHandler("cancel", _cb(cancel_idle_command), filters=_NEW),
        CallbackQueryHandler(_cb(stale_draft_button), pattern=cb.BROADCAST_DRAFT_PATTERN),
        CallbackQueryHandler(_cb(cancel_scheduled_button), pattern=cb.BROADCAST_CANCEL_PATTERN),
    ]
