"""What /search and inline mode show: result pages, the usage, and inline results.

An inline result's message is the post as a notification shows it (topic, title as a link,
summary, date and source) or the broadcast's own text, with a "Read and act" / "Take action"
link and a "Follow <topic>" deep link (`https://t.me/<bot>?start=sub-<slug>-<code>`) that
subscribes whoever taps it and credits the shared message. Every feed or user string is
escaped. No I/O: the functions take plain values.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import tzinfo

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode

from bot.domain.referral import deep_link_parameter
from bot.domain.search import MAX_QUERY_BYTES, MAX_QUERY_WORDS
from bot.domain.views import PostView, TopicView
from bot.render import callback_data as cb
from bot.render.notifications import post_notification
from bot.render.supporters import post_list_lines
from bot.render.text import (
    BUTTON_TEXT_CHARS,
    RenderedMessage,
    escape,
    fit,
    safe_url,
    shorten,
    visible,
)

RESULT_TITLE_CHARS = 100
RESULT_DESCRIPTION_CHARS = 120
CALL_TO_ACTION = "Call to action"
UNTITLED = "Untitled"


def search_usage() -> RenderedMessage:
    """/search without words, or with too many: how to use it."""
    return RenderedMessage(
        "Search the posts by words in their title or summary: <code>/search &lt;words&gt;</code>"
        ", for example <code>/search write for rights</code>.\n"
        f"Accents and capitals do not matter; use up to {MAX_QUERY_WORDS} words "
        f"({MAX_QUERY_BYTES} letters)."
    )


def search_page(
    posts: Sequence[PostView], *, terms: str, page: int, has_next: bool, tz: tzinfo
) -> RenderedMessage:
    """One page of /search: up to five posts, newest first, ◀ ▶ buttons like /latest."""
    lines = [f"Posts matching “{escape(terms)}” (page {page + 1})", ""]
    if not posts:
        lines.append(
            "No posts match these words. Try fewer or other words."
            if page == 0
            else "No more posts."
        )
    lines.extend(post_list_lines(posts, tz))
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀ Newer", callback_data=cb.search_page(page - 1, terms)))
    if has_next:
        nav.append(InlineKeyboardButton("Older ▶", callback_data=cb.search_page(page + 1, terms)))
    return RenderedMessage(fit("\n".join(lines)), (tuple(nav),) if nav else (), True)


def follow_link(bot_username: str, topic: TopicView, code: str | None) -> str:
    """The deep link that subscribes to `topic` and credits the message of `code`."""
    return f"https://t.me/{bot_username}?start={deep_link_parameter(topic.slug, code)}"


def follow_button(bot_username: str, topic: TopicView, code: str | None) -> InlineKeyboardButton:
    """The "Follow <topic>" button: a deep link to the bot."""
    text = shorten(f"Follow {topic.name}", BUTTON_TEXT_CHARS)
    return InlineKeyboardButton(text, url=follow_link(bot_username, topic, code))


def plain_text(text_html: str) -> str:
    """The text of Telegram HTML without its tags, entities decoded (for result titles)."""
    return html.unescape(re.sub(r"<[^>]*>", " ", text_html))


def inline_result(
    *,
    result_id: str,
    bot_username: str,
    tz: tzinfo,
    code: str | None,
    topic: TopicView | None,
    post: PostView | None = None,
    broadcast_html: str | None = None,
    action_url: str | None = None,
) -> InlineQueryResultArticle:
    """One inline result: a post as a notification shows it, or a broadcast's text."""
    if post is not None:
        text = post_notification(post, topic, tz).text
        link, label = safe_url(post.url), "Read and act"
        title = shorten(post.title, RESULT_TITLE_CHARS) if visible(post.title) else UNTITLED
        description = shorten(post.summary, RESULT_DESCRIPTION_CHARS)
    else:
        text = (
            broadcast_html
            if broadcast_html and visible(plain_text(broadcast_html))
            else CALL_TO_ACTION
        )
        link, label = safe_url(action_url), "Take action"
        words = plain_text(text)
        title = f"{CALL_TO_ACTION}: {shorten(words, RESULT_TITLE_CHARS)}".rstrip(": ")
        description = shorten(words, RESULT_DESCRIPTION_CHARS)
    row: list[InlineKeyboardButton] = []
    if link:
        row.append(InlineKeyboardButton(label, url=link))
    if topic is not None:
        row.append(follow_button(bot_username, topic, code))
    return InlineQueryResultArticle(
        id=result_id,
        title=title,
        description=description or None,
        input_message_content=InputTextMessageContent(
            fit(text),
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        reply_markup=InlineKeyboardMarkup([row]) if row else None,
    )
