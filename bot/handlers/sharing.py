"""Sharing and finding: /search, inline mode, chosen inline results, shared links.

`@bot words` in any chat, and the referral part of /start (`sub-<slug>-<code>`).

Each callback extracts primitives from the update, calls `SharingService` and renders with
`bot.render.sharing`. Inline mode must be enabled with @BotFather (/setinline, and
/setinlinefeedback for share counts); without it Telegram sends no inline updates and the
bot offers no Share button, and everything else works the same.

Must not: import SQLAlchemy or `bot.db`, or record anything about who shared or searched
(a share is one more in the message's counter, nothing else).
"""

from __future__ import annotations

from telegram import Update

from bot.domain.referral import SUBSCRIBE_PREFIX, split_subscription_key
from bot.handlers.context import (
    Context,
    language_of,
    runtime_of,
    subscriptions_of,
    timezone_of,
)
from bot.handlers.context import message_of as _message
from bot.handlers.context import query_of as _query
from bot.handlers.guards import button_on_message
from bot.handlers.replies import answer as _answer
from bot.handlers.replies import edit as _edit
from bot.handlers.replies import reply as _reply
from bot.render import callback_data as cb
from bot.render import sharing as render
from bot.render.i18n import language_for
from bot.render.text import invalid_button
from bot.services.sharing import SharingService

# Inline answers may be cached by Telegram this long, for everyone who types the same query.
INLINE_CACHE_SECONDS = 30


def sharing_of(context: Context) -> SharingService:
    """Search, inline results, shares and joins."""
    return runtime_of(context).sharing


def start_referral(text: str | None) -> tuple[str, str] | None:
    """(topic key, code) of `/start sub-<slug>-<code>`; None for any other message."""
    parts = (text or "").split(maxsplit=1)
    if len(parts) != 2 or parts[0].lower().split("@")[0] != "/start":
        return None
    argument = parts[1].strip()
    if not argument.lower().startswith(SUBSCRIBE_PREFIX):
        return None
    key, code = split_subscription_key(argument[len(SUBSCRIBE_PREFIX) :])
    return None if code is None else (key, code)


def defers_registration(update: Update) -> bool:
    """Whether the chat is registered by /start itself, not by the observer.

    A /start through a shared link credits the message only on the chat's first contact,
    so the observer must not create the chat before /start has looked.
    """
    message = update.message
    return message is not None and start_referral(message.text) is not None


async def search_command(update: Update, context: Context) -> None:
    """/search <words>: posts whose title or summary hold every word, newest first."""
    parts = (_message(update).text or "").split(maxsplit=1)
    words = parts[1] if len(parts) > 1 else ""
    page = await sharing_of(context).search(words)
    language = await language_of(update, context)
    if page is None:
        await _reply(update, render.search_usage(language))
        return
    await _reply(
        update,
        render.search_page(
            page.posts,
            terms=page.terms,
            page=page.page,
            has_next=page.has_next,
            tz=timezone_of(context),
            language=language,
        ),
    )


async def search_page_button(update: Update, context: Context) -> None:
    """◀ ▶ under /search results: another page in the same message."""
    query = _query(update)
    pressed = cb.parse_search(query.data)
    language = await language_of(update, context)
    if pressed is None or not button_on_message(query):
        await _answer(query, invalid_button(language))
        return
    number, terms = pressed
    page = await sharing_of(context).search(terms, number)
    if page is None:
        await _answer(query, invalid_button(language))
        return
    await _answer(query)
    await _edit(
        query,
        render.search_page(
            page.posts,
            terms=page.terms,
            page=page.page,
            has_next=page.has_next,
            tz=timezone_of(context),
            language=language,
        ),
    )


async def inline_query(update: Update, context: Context) -> None:
    """`@bot words` in any chat: matching posts, each with a "Follow <topic>" deep link.

    No words: the latest posts. A Share button's query: exactly the message it names.
    """
    inline = update.inline_query
    if inline is None:
        return
    found = await sharing_of(context).inline(inline.query, inline.offset)
    # The sharer's language: that of their private chat with the bot (chat id = user id),
    # else their Telegram app's.
    service = subscriptions_of(context)
    user = inline.from_user
    stored = await service.stored_language(user.id)
    language = stored or language_for(user.language_code, service.default_language)
    tz = timezone_of(context)
    username = context.bot.username
    results = [
        render.inline_result(
            result_id=item.result_id,
            bot_username=username,
            tz=tz,
            code=item.code,
            topic=item.topic,
            post=item.post,
            broadcast_html=item.broadcast_html,
            action_url=item.action_url,
            language=language,
        )
        for item in found.results
    ]
    await inline.answer(
        results,
        cache_time=INLINE_CACHE_SECONDS,
        # Personal: the results are worded in the sharer's language.
        is_personal=True,
        # None, not "", for "no more": with Defaults set, PTB 22 sends an empty string as
        # "[]" (its InputPollOption defaults treat "" as an empty list of options).
        next_offset=found.next_offset or None,
    )


async def chosen_inline_result(update: Update, context: Context) -> None:
    """A result was sent to a chat (inline feedback on): one more share for its message."""
    chosen = update.chosen_inline_result
    if chosen is not None:
        await sharing_of(context).record_share(chosen.result_id)
