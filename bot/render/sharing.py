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
from bot.render.i18n import N_, SOURCE_LANGUAGE, translator
from bot.render.notifications import post_notification
from bot.render.supporters import post_list_lines
from bot.render.text import (
    BUTTON_TEXT_CHARS,
    RenderedMessage,
    fit,
    quoted_key,
    safe_url,
    shorten,
    visible,
)

RESULT_TITLE_CHARS = 100
RESULT_DESCRIPTION_CHARS = 120
CALL_TO_ACTION = N_("Call to action")
UNTITLED = N_("Untitled")


def search_usage(language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """/search without words, or with too many: how to use it."""
    t = translator(language)
    text = t.gettext(
        "Search the posts by words in their title or summary: "
        "<code>/search &lt;words&gt;</code>, for example <code>/search write for rights</code>."
    )
    limits = t.gettext(
        "Accents and capitals do not matter; use up to %(words)s words (%(letters)s letters)."
    )
    values = {"words": t.number(MAX_QUERY_WORDS), "letters": t.number(MAX_QUERY_BYTES)}
    return RenderedMessage(f"{text}\n{limits % values}")


def search_page(
    posts: Sequence[PostView],
    *,
    terms: str,
    page: int,
    has_next: bool,
    tz: tzinfo,
    language: str = SOURCE_LANGUAGE,
) -> RenderedMessage:
    """One page of /search: up to five posts, newest first, ◀ ▶ buttons like /latest."""
    t = translator(language)
    heading = t.gettext("Posts matching %(terms)s (page %(page)s)") % {
        "terms": quoted_key(terms, language),
        "page": t.number(page + 1),
    }
    lines = [heading, ""]
    if not posts:
        lines.append(
            t.gettext("No posts match these words. Try fewer or other words.")
            if page == 0
            else t.gettext("No more posts.")
        )
    lines.extend(post_list_lines(posts, tz, language))
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                t.gettext("◀ Newer"), callback_data=cb.search_page(page - 1, terms)
            )
        )
    if has_next:
        nav.append(
            InlineKeyboardButton(
                t.gettext("Older ▶"), callback_data=cb.search_page(page + 1, terms)
            )
        )
    return RenderedMessage(fit("\n".join(lines)), (tuple(nav),) if nav else (), True)


def follow_link(bot_username: str, topic: TopicView, code: str | None) -> str:
    """The deep link that subscribes to `topic` and credits the message of `code`."""
    return f"https://t.me/{bot_username}?start={deep_link_parameter(topic.slug, code)}"


def follow_button(
    bot_username: str, topic: TopicView, code: str | None, language: str = SOURCE_LANGUAGE
) -> InlineKeyboardButton:
    """The "Follow <topic>" button: a deep link to the bot."""
    label = translator(language).gettext("Follow %(topic)s")
    text = shorten(label % {"topic": topic.name}, BUTTON_TEXT_CHARS)
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
    language: str = SOURCE_LANGUAGE,
) -> InlineQueryResultArticle:
    """One inline result: a post as a notification shows it, or a broadcast's text.

    In the sharer's language (the one their Telegram app uses).
    """
    t = translator(language)
    if post is not None:
        text = post_notification(post, topic, tz, language=language).text
        link, label = safe_url(post.url), t.gettext("Read and act")
        untitled = t.gettext(UNTITLED)
        title = shorten(post.title, RESULT_TITLE_CHARS) if visible(post.title) else untitled
        description = shorten(post.summary, RESULT_DESCRIPTION_CHARS)
    else:
        call = t.gettext(CALL_TO_ACTION)
        text = broadcast_html if broadcast_html and visible(plain_text(broadcast_html)) else call
        link, label = safe_url(action_url), t.gettext("Take action")
        words = plain_text(text)
        title = t.gettext("%(call)s: %(words)s") % {
            "call": call,
            "words": shorten(words, RESULT_TITLE_CHARS),
        }
        title = title.rstrip(":\u00a0 ")
        description = shorten(words, RESULT_DESCRIPTION_CHARS)
    row: list[InlineKeyboardButton] = []
    if link:
        row.append(InlineKeyboardButton(label, url=link))
    if topic is not None:
        row.append(follow_button(bot_username, topic, code, language))
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
