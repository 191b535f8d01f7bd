"""What the delivery engine sends to chats: post notifications, broadcasts, notices.

The organisers' preview is rendered by the same functions (`broadcast_message`), so what an
organiser previews is what supporters get. No I/O: the functions take plain values.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import tzinfo

from telegram import InlineKeyboardButton, SwitchInlineQueryChosenChat
from telegram.constants import MessageLimit

from bot.domain.topics import PREVIEW_OFF, PREVIEW_SMALL
from bot.domain.views import PostView, TopicView
from bot.render import callback_data as cb
from bot.render.actions import DEFAULT_ACTION_LABEL
from bot.render.i18n import N_, SOURCE_LANGUAGE, elide_de, translator
from bot.render.text import (
    BUTTON_TEXT_CHARS,
    SOURCE_CHARS,
    RenderedMessage,
    caption_length,
    escape,
    optional_date,
    safe_url,
    shorten,
    topic_label,
    visible,
)

SUMMARY_CHARS = 300
TITLE_CHARS = 256
INTRO_CHARS = 500
SHARE = N_("Share")


def share_button(query: str, language: str = SOURCE_LANGUAGE) -> InlineKeyboardButton:
    """The Share button: opens the chat picker (people, groups, channels) with `@bot <query>`.

    The inline handler answers `query` with the message the button is under.
    """
    chosen = SwitchInlineQueryChosenChat(
        query=query, allow_user_chats=True, allow_group_chats=True, allow_channel_chats=True
    )
    text = translator(language).gettext(SHARE)
    return InlineKeyboardButton(text, switch_inline_query_chosen_chat=chosen)


def post_notification(
    post: PostView,
    topic: TopicView | None,
    tz: tzinfo,
    share_query: str | None = None,
    language: str = SOURCE_LANGUAGE,
    *,
    caption: bool = False,
    summary_chars: int = SUMMARY_CHARS,
    channel: bool = False,
) -> RenderedMessage:
    """The message a subscriber gets for a new post.

    Topic emoji and name, the title as a link, a summary cut at a word boundary, date and
    source; buttons "Read and act" (the post's link) and "Share" (with `share_query`, when
    inline mode is on) in one row, the topic's action button if it has a label, and
    "Unsubscribe from <topic>". In a `channel` only "Read and act" stays (see `for_channel`).
    The link preview follows the topic's `preview` (off, small below the text, or large;
    small without a topic).

    With `caption`, the text is the caption of the post's image: within Telegram's 1,024
    characters after parsing, the summary shortened further if needed (at a word, never
    inside a tag or an entity: the text is cut before it is escaped).
    """
    t = translator(language)
    url = safe_url(post.url)
    text = _post_text(post, topic, tz, language, summary_chars)
    if caption:
        text = _fit_caption(post, topic, tz, language, summary_chars, text)
    rows = _link_rows(t.gettext("Read and act"), url, share_query, language)
    if topic is not None and topic.action_label:
        data = cb.action(cb.ACTION_POST, post.id)
        rows.append(_action_row(topic.action_label, data, language))
    rows.extend(_unsubscribe_row(topic, language))
    preview = topic.preview if topic is not None else PREVIEW_SMALL
    if preview == PREVIEW_OFF:
        message = RenderedMessage(text, tuple(rows), disable_preview=True)
    else:
        message = RenderedMessage(text, tuple(rows), preview_size=preview)
    return for_channel(message) if channel else message


def _post_text(
    post: PostView,
    topic: TopicView | None,
    tz: tzinfo,
    language: str,
    summary_chars: int,
    title_chars: int = TITLE_CHARS,
) -> str:
    """The HTML of a post notification (see `post_notification`)."""
    t = translator(language)
    url = safe_url(post.url)
    # A title of only spaces or invisible characters would leave Telegram an empty message.
    untitled = t.gettext("Untitled")
    title = escape(shorten(post.title, title_chars)) if visible(post.title) else untitled
    lines = []
    if topic is not None:
        lines.append(f"<b>{escape(topic_label(topic))}</b>")
    lines.append(f'<a href="{escape(url)}"><b>{title}</b></a>' if url else f"<b>{title}</b>")
    summary = shorten(post.summary, summary_chars) if summary_chars > 1 else ""
    if summary:
        lines.extend(["", escape(summary)])
    meta = [m for m in (optional_date(post.published, tz, language), post.source) if m]
    if meta:
        lines.extend(["", f"<i>{escape(shorten(' · '.join(meta), SOURCE_CHARS + 20))}</i>"])
    return "\n".join(lines)


def _fit_caption(
    post: PostView,
    topic: TopicView | None,
    tz: tzinfo,
    language: str,
    summary_chars: int,
    text: str,
) -> str:
    """`text` within Telegram's caption limit: the summary shortened first, then the title."""
    summary = min(summary_chars, len(post.summary))
    title = TITLE_CHARS
    for _ in range(8):  # each pass removes at least the excess; two passes are the rule
        over = caption_length(text) - MessageLimit.CAPTION_LENGTH
        if over <= 0:
            return text
        if summary > 1:
            summary = max(0, min(summary, len(shorten(post.summary, summary))) - over - 1)
        else:
            title = max(2, title - over - 1)
        text = _post_text(post, topic, tz, language, summary, title)
    return text


def broadcast_message(
    text_html: str,
    action_url: str | None,
    topic: TopicView | None,
    action_label: str | None = None,
    broadcast_id: int | None = None,
    share_query: str | None = None,
    language: str = SOURCE_LANGUAGE,
    *,
    channel: bool = False,
) -> RenderedMessage:
    """An organiser's call to action: their (already safe) HTML and a "Take action" button.

    With `share_query`, a "Share" button beside it. With an `action_label`, an action button
    follows ("✅ I did it"); in the preview (no `broadcast_id` yet) it looks the same and only
    acknowledges a press. In a `channel` only "Take action" stays (see `for_channel`).
    """
    label = translator(language).gettext("Take action")
    rows = _link_rows(label, safe_url(action_url), share_query, language)
    if action_label:
        data = cb.action(cb.ACTION_BROADCAST, broadcast_id) if broadcast_id else cb.NOOP
        rows.append(_action_row(action_label, data, language))
    rows.extend(_unsubscribe_row(topic, language))
    message = RenderedMessage(text_html, tuple(rows))
    return for_channel(message) if channel else message


def for_channel(message: RenderedMessage) -> RenderedMessage:
    """The message as a channel gets it: link buttons only.

    Telegram refuses switch_inline buttons in channels (Share), and the action and
    Unsubscribe buttons would count or change nothing sensible there (a channel's readers are
    not the chat that follows the topic), so only URL buttons stay.
    """
    rows = tuple(
        kept for row in message.buttons if (kept := tuple(b for b in row if b.url is not None))
    )
    return replace(message, buttons=rows)


def _action_row(label: str, data: str, language: str) -> tuple[InlineKeyboardButton, ...]:
    """The action button: its label as given (labels are checked to be one short line).

    The default label ("✅ I did it") is the bot's own text: it reads in the chat's language.
    """
    if label == DEFAULT_ACTION_LABEL:
        label = translator(language).gettext(DEFAULT_ACTION_LABEL)
    return (InlineKeyboardButton(shorten(label, BUTTON_TEXT_CHARS), callback_data=data),)


def with_tracked_link(message: RenderedMessage, original: str, tracked: str) -> RenderedMessage:
    """The message with its link button ("Read and act", "Take action") pointing to `tracked`.

    Only buttons whose URL is `original` change; the text keeps the original links, and the
    link preview is pinned to `original` when the text links it, so Telegram's preview shows
    the original page, never the tracked address. The delivery engine renders a message once
    and calls this per delivery.
    """
    rows = tuple(
        tuple(
            InlineKeyboardButton(button.text, url=tracked) if button.url == original else button
            for button in row
        )
        for row in message.buttons
    )
    linked = f'href="{escape(original)}"' in message.text
    return replace(message, buttons=rows, preview_url=original if linked else message.preview_url)


def _link_rows(
    label: str, url: str | None, share_query: str | None, language: str
) -> list[tuple[InlineKeyboardButton, ...]]:
    """The first row: the link button (if any) and the Share button (if any)."""
    row: list[InlineKeyboardButton] = []
    if url:
        row.append(InlineKeyboardButton(label, url=url))
    if share_query:
        row.append(share_button(share_query, language))
    return [tuple(row)] if row else []


def _unsubscribe_row(
    topic: TopicView | None, language: str
) -> tuple[tuple[InlineKeyboardButton, ...], ...]:
    """The "Unsubscribe from <topic>" button under what a topic brought (none without a topic)."""
    if topic is None:
        return ()
    label = translator(language).gettext("Unsubscribe from %(topic)s")
    text = shorten(
        elide_de(label % {"topic": topic.name}, topic.name, language), BUTTON_TEXT_CHARS
    )
    return ((InlineKeyboardButton(text, callback_data=cb.topic_off(topic.id)),),)


def pushed_post_html(
    intro: str | None,
    post: PostView,
    topic: TopicView | None,
    tz: tzinfo,
    language: str = SOURCE_LANGUAGE,
) -> str:
    """The HTML of a re-announced post: the organiser's intro line, then the post.

    The post is shown as a notification shows it; its link becomes the "Take action" button.
    """
    body = post_notification(post, topic, tz, language=language).text
    if intro and visible(intro):
        return f"{escape(shorten(intro, INTRO_CHARS))}\n\n{body}"
    return body


def archive_notice(topic: TopicView, language: str = SOURCE_LANGUAGE) -> str:
    """The notice a topic's followers get when it is archived (HTML, sent as a notice)."""
    text = translator(language).gettext(
        "The topic %(topic)s has been archived: you will get no more posts about it. "
        "Send /topics to choose other topics."
    )
    return text % {"topic": f"<b>{escape(topic_label(topic))}</b>"}
