"""Delivery priorities: which waiting messages the engine sends first. Pure constants.

The outbox is drained highest priority first, then oldest first (`DeliveryRepo.claim_due`),
so a broadcast queued behind a backlog of thousands of ordinary post notifications still
goes out next. Replies to people never wait in the outbox at all: they are sent through the
Application's own bot, so they have no priority here.

The values leave room between levels, so a new level slots in without renumbering rows
already queued (the column is a SMALLINT; keep values within 0..1000).
"""

from __future__ import annotations

import enum
from collections.abc import Collection


class DeliveryPriority(enum.IntEnum):
    """The `deliveries.priority` of each kind of message; higher goes first."""

    POST = 0  # an ordinary post notification
    BROADCAST = 10  # an organiser's call to action, or a notice from the bot to followers
    URGENT = 20  # posts and broadcasts of a topic marked urgent (`topics.urgent`)


def post_priority(topic_ids: Collection[int], urgent: Collection[int]) -> DeliveryPriority:
    """A post's priority: URGENT if it matched a topic marked urgent, else POST.

    The whole post is urgent (every chat it goes to gets it first and at once, digests and
    quiet hours notwithstanding): an Urgent Action is time-bound whichever topic brought it.
    """
    return (
        DeliveryPriority.URGENT if any(t in urgent for t in topic_ids) else DeliveryPriority.POST
    )


def broadcast_priority(
    topic_ids: Collection[int] | None, urgent: Collection[int]
) -> DeliveryPriority:
    """A broadcast's priority: URGENT if its audience includes an urgent topic, else BROADCAST."""
    if topic_ids and any(t in urgent for t in topic_ids):
        return DeliveryPriority.URGENT
    return DeliveryPriority.BROADCAST
