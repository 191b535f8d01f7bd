"""The one place a stored row becomes the plain view a chat is shown (`bot.domain.views`).

Must not: open sessions or transactions (callers pass rows they have read), or render.
"""

from __future__ import annotations

from bot.db.models import Post, Topic
from bot.domain.topics import PREVIEW_SMALL
from bot.domain.views import PostView, TopicView


def topic_view(topic: Topic, *, subscribed: bool = False) -> TopicView:
    """The plain view of a topic row."""
    return TopicView(
        id=topic.id,
        slug=topic.slug,
        name=topic.name,
        emoji=topic.emoji,
        description=topic.description,
        subscribed=subscribed,
        action_label=topic.action_label,
        name_fr=topic.name_fr or "",
        description_fr=topic.description_fr or "",
        preview=topic.preview or PREVIEW_SMALL,
    )


def post_view(post: Post, source: str | None) -> PostView:
    """The plain view of a post row; `source` is its feed's label.

    A post shows when it was published, or when the bot first saw it if the feed gave no date.
    """
    return PostView(
        id=post.id,
        title=post.title,
        url=post.url,
        summary=post.summary,
        published=post.published_at or post.first_seen_at,
        source=source,
        image=None if post.image_refused else post.image_url,
    )
